//! A look at every page header of a Parquet file before the Parquet reader decodes it.
//!
//! The reader sizes its buffers from the value counts the page headers declare, so a
//! header that claims 2^61 values in a one-row row group makes it ask for more memory
//! than exists — and a failed allocation aborts the process, which no error handling
//! can catch. A file palaudit wrote never does that, and the checksums keep any other
//! file out; this check keeps palaudit from crashing on a table that was replaced and
//! re-checksummed, which fuzzing found.

use polars_parquet::parquet::page::CompressedPage;
use polars_parquet::parquet::read::{get_page_iterator, read_metadata};
use std::io::Cursor;

/// Pages larger than this are refused by the page reader itself (palaudit writes row
/// groups of 65,536 rows; its largest pages are a few MiB).
const MAX_PAGE_BYTES: usize = 256 * 1024 * 1024;

/// Checks that no page of the file in `buffer` declares more values than its row group
/// has rows. The buffer is shared, not copied, by the page readers.
pub(crate) fn check(buffer: &polars_buffer::Buffer<u8>) -> Result<(), String> {
    let metadata = read_metadata(&mut Cursor::new(buffer.as_ref())).map_err(|e| e.to_string())?;
    for (g, group) in metadata.row_groups.iter().enumerate() {
        let rows = group.num_rows();
        for column in group.parquet_columns() {
            let pages = get_page_iterator(
                column,
                Cursor::new(buffer.clone()),
                Vec::new(),
                MAX_PAGE_BYTES,
            )
            .map_err(|e| e.to_string())?;
            for page in pages {
                let page = page.map_err(|e| e.to_string())?;
                // Dictionary pages are bounded by the page reader's size limit.
                let CompressedPage::Data(page) = &page else {
                    continue;
                };
                let values = page.num_values();
                if page.uncompressed_size() > MAX_PAGE_BYTES {
                    return Err(format!(
                        "row group {g}: a page of column `{}` declares {} bytes uncompressed; the file was not written by palaudit",
                        column.descriptor().path_in_schema.join("."),
                        page.uncompressed_size()
                    ));
                }
                if values > rows {
                    return Err(format!(
                        "row group {g}: a page of column `{}` declares {values} values, but the row group has {rows} rows; the file was not written by palaudit",
                        column.descriptor().path_in_schema.join(".")
                    ));
                }
            }
        }
    }
    Ok(())
}
