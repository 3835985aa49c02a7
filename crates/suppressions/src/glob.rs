//! The globs of the suppressions file: `*` any run of characters, `?` one character,
//! compared without regard to case. Nothing else is special, so resource names holding
//! brackets or braces match as written.

/// A compiled glob pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: Vec<char>,
}

fn fold(s: &str) -> Vec<char> {
    s.chars().flat_map(char::to_lowercase).collect()
}

impl Glob {
    pub fn new(pattern: &str) -> Glob {
        Glob {
            pattern: fold(pattern),
        }
    }

    pub fn matches(&self, text: &str) -> bool {
        let text = fold(text);
        let (p, t) = (&self.pattern, &text);
        // Iterative matching with one backtrack point (the last `*`): linear in practice,
        // never exponential.
        let (mut pi, mut ti) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while ti < t.len() {
            match p.get(pi) {
                Some('*') => {
                    star = Some((pi, ti));
                    pi += 1;
                }
                Some('?') => {
                    pi += 1;
                    ti += 1;
                }
                Some(c) if *c == t[ti] => {
                    pi += 1;
                    ti += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        pi = sp + 1;
                        ti = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        p[pi..].iter().all(|c| *c == '*')
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;

    #[test]
    fn stars_questions_and_case() {
        let g = |p: &str, t: &str| Glob::new(p).matches(t);
        assert!(g("*", ""));
        assert!(g("*", "anything"));
        assert!(g("* (UAT)", "Expense Claims (uat)"));
        assert!(!g("* (UAT)", "Expense Claims"));
        assert!(g("Contoso*", "contoso operations"));
        assert!(g("T?mesheet*", "Timesheet Prototype"));
        assert!(!g("T?mesheet", "Tmesheet"));
        assert!(g("*sales*digest*", "Daily sales digest"));
        assert!(g("[draft]*", "[Draft] plan"));
        assert!(g("販売*", "販売 📊"));
        assert!(!g("abc", "abcd"));
        assert!(g("a*b*c", "axxbyyc"));
        assert!(!g("a*b*c", "axxbyy"));
    }

    #[test]
    fn no_exponential_backtracking() {
        let text = "a".repeat(10_000);
        assert!(!Glob::new("*a*a*a*a*a*a*a*b").matches(&text));
    }
}
