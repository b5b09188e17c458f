//! Matching builder options (`bytes(".pkg.Msg.field")`, …) against proto names.

use std::cell::Cell;

/// A list of proto paths with a value each, remembering which ones matched
/// something so that options naming nothing can be reported.
#[derive(Debug, Default)]
pub(crate) struct PathMap<T> {
    entries: Vec<(String, T, Cell<bool>)>,
}

impl<T> PathMap<T> {
    pub(crate) fn insert(&mut self, path: impl Into<String>, value: T) {
        self.entries.push((path.into(), value, Cell::new(false)));
    }

    /// Every value whose path matches the fully qualified `name`
    /// (`.pkg.Msg` or `.pkg.Msg.field`), in insertion order.
    pub(crate) fn matches<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a T> + 'a {
        self.entries
            .iter()
            .filter(move |(path, _, _)| path_matches(path, name))
            .map(|(_, v, hit)| {
                hit.set(true);
                v
            })
    }

    /// True if any path matches `name`.
    pub(crate) fn any(&self, name: &str) -> bool {
        self.matches(name).next().is_some()
    }

    /// Every `(path, value)`.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&str, &T)> {
        self.entries.iter().map(|(p, v, _)| (p.as_str(), v))
    }

    /// Paths that matched nothing so far.
    pub(crate) fn unmatched(&self) -> impl Iterator<Item = &str> {
        self.entries
            .iter()
            .filter(|(_, _, hit)| !hit.get())
            .map(|(p, _, _)| p.as_str())
    }
}

/// `.` matches everything; a path starting with `.` matches a fully
/// qualified name or its prefix (at a segment boundary); any other path
/// matches a suffix (at a segment boundary).
pub(crate) fn path_matches(path: &str, name: &str) -> bool {
    if path == "." {
        return true;
    }
    if path.starts_with('.') {
        name == path || (name.starts_with(path) && name.as_bytes()[path.len()] == b'.')
    } else {
        name == path
            || (name.ends_with(path) && name.as_bytes()[name.len() - path.len() - 1] == b'.')
    }
}

#[cfg(test)]
mod tests {
    use super::path_matches;

    #[test]
    fn matching_rules() {
        assert!(path_matches(".", ".a.B"));
        assert!(path_matches(".a", ".a.B.c"));
        assert!(!path_matches(".a", ".ab.C"));
        assert!(path_matches(".a.B.c", ".a.B.c"));
        assert!(path_matches("B.c", ".a.B.c"));
        assert!(path_matches("c", ".a.B.c"));
        assert!(!path_matches("c", ".a.B.bc"));
    }
}
