//! Building and querying `google.protobuf.FieldMask`.

use super::FieldMask;

impl FieldMask {
    /// A mask of these `paths` (dot-separated field names such as
    /// `"user.display_name"`), kept in the order given.
    ///
    /// ```
    /// use protocall::types::FieldMask;
    /// let mask = FieldMask::new(["name", "address.city"]);
    /// assert_eq!(mask.paths, ["name", "address.city"]);
    /// ```
    pub fn new<I, S>(paths: I) -> FieldMask
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        FieldMask {
            paths: paths.into_iter().map(Into::into).collect(),
            ..Default::default()
        }
    }

    /// True when `path` is one of the mask's paths, exactly.
    ///
    /// ```
    /// use protocall::types::FieldMask;
    /// let mask = FieldMask::new(["address"]);
    /// assert!(mask.contains("address"));
    /// assert!(!mask.contains("address.city"));
    /// ```
    pub fn contains(&self, path: &str) -> bool {
        self.paths.iter().any(|p| p == path)
    }

    /// True when the mask selects `path`: one of its paths is `path` itself
    /// or a parent of it (`"a.b"` selects `"a.b"` and `"a.b.c"`, not
    /// `"a.bc"` nor `"a"`).
    ///
    /// ```
    /// use protocall::types::FieldMask;
    /// let mask = FieldMask::new(["address"]);
    /// assert!(mask.covers("address"));
    /// assert!(mask.covers("address.city"));
    /// assert!(!mask.covers("addresses"));
    /// ```
    pub fn covers(&self, path: &str) -> bool {
        self.paths.iter().any(|p| {
            path.strip_prefix(p.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
        })
    }
}

/// A mask of these paths.
///
/// ```
/// use protocall::types::FieldMask;
/// let mask = FieldMask::from(vec!["a".to_owned(), "b.c".to_owned()]);
/// assert_eq!(mask, FieldMask::new(["a", "b.c"]));
/// ```
impl From<Vec<String>> for FieldMask {
    fn from(paths: Vec<String>) -> FieldMask {
        FieldMask {
            paths,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    #[test]
    fn construction() {
        assert_eq!(FieldMask::new(Vec::<String>::new()), FieldMask::default());
        let mask = FieldMask::new(vec![String::from("x"), String::from("y.z")]);
        assert_eq!(
            mask,
            FieldMask::from(vec!["x".to_owned(), "y.z".to_owned()])
        );
        let decoded = FieldMask::decode(mask.encode_to_vec().as_slice()).unwrap();
        assert_eq!(decoded, mask);
    }

    #[test]
    fn contains_is_exact() {
        let mask = FieldMask::new(["a.b", "c"]);
        assert!(mask.contains("a.b"));
        assert!(mask.contains("c"));
        assert!(!mask.contains("a"));
        assert!(!mask.contains("a.b.c"));
        assert!(!mask.contains(""));
        assert!(!FieldMask::default().contains(""));
    }

    #[test]
    fn covers_follows_path_segments() {
        let mask = FieldMask::new(["a.b", "c"]);
        for covered in ["a.b", "a.b.c", "a.b.c.d", "c", "c.x"] {
            assert!(mask.covers(covered), "{covered}");
        }
        for not_covered in ["", "a", "a.", "a.bc", "a.c", "b", "cc", ".c"] {
            assert!(!mask.covers(not_covered), "{not_covered}");
        }
        assert!(!FieldMask::default().covers("a"));
    }
}
