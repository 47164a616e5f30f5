//! `#[lua(rename_all = "...")]`: the naming conventions a container may ask for.

/// A naming convention applied to every variant (enums) or field (structs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RenameRule {
    /// `FooBar` → `foobar`: the whole name lowercased, as serde does.
    Lower,
    /// `FooBar` → `FOOBAR`.
    Upper,
    /// `FooBar` → `foo_bar`.
    Snake,
    /// `FooBar` → `foo-bar`.
    Kebab,
    /// `FooBar` → `FOO_BAR`.
    ScreamingSnake,
    /// `FooBar` → `FOO-BAR`.
    ScreamingKebab,
    /// `foo_bar` → `fooBar`.
    Camel,
    /// `foo_bar` → `FooBar`.
    Pascal,
}

impl RenameRule {
    /// Every accepted spelling, in the order error messages list them.
    pub(crate) const ALL: &'static [(&'static str, RenameRule)] = &[
        ("lowercase", RenameRule::Lower),
        ("UPPERCASE", RenameRule::Upper),
        ("snake_case", RenameRule::Snake),
        ("kebab-case", RenameRule::Kebab),
        ("SCREAMING_SNAKE_CASE", RenameRule::ScreamingSnake),
        ("SCREAMING-KEBAB-CASE", RenameRule::ScreamingKebab),
        ("camelCase", RenameRule::Camel),
        ("PascalCase", RenameRule::Pascal),
    ];

    /// The rule spelled `name`, if any.
    pub(crate) fn from_name(name: &str) -> Option<RenameRule> {
        RenameRule::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, r)| *r)
    }

    /// Applies the rule to a Rust name (`PascalCase` variant or `snake_case` field).
    pub(crate) fn apply(self, name: &str) -> String {
        let words = words(name);
        let lower = || words.iter().map(|w| w.to_lowercase());
        let upper = || words.iter().map(|w| w.to_uppercase());
        match self {
            RenameRule::Lower => name.to_ascii_lowercase(),
            RenameRule::Upper => name.to_ascii_uppercase(),
            RenameRule::Snake => lower().collect::<Vec<_>>().join("_"),
            RenameRule::Kebab => lower().collect::<Vec<_>>().join("-"),
            RenameRule::ScreamingSnake => upper().collect::<Vec<_>>().join("_"),
            RenameRule::ScreamingKebab => upper().collect::<Vec<_>>().join("-"),
            RenameRule::Pascal => words.iter().map(|w| capitalize(w)).collect(),
            RenameRule::Camel => words
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    if i == 0 {
                        w.to_lowercase()
                    } else {
                        capitalize(w)
                    }
                })
                .collect(),
        }
    }
}

/// `wORD` → `Word`.
fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

/// Splits `FooBar`, `foo_bar`, `HTTPServer` or `ipv4Addr` into words.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in name.split(['_', '-']).filter(|p| !p.is_empty()) {
        let chars: Vec<char> = part.chars().collect();
        let mut word = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1).copied();
            let boundary = c.is_uppercase()
                && match prev {
                    Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                    // The last capital of an acronym starts the next word: HTTP|Server.
                    Some(p) if p.is_uppercase() => next.is_some_and(char::is_lowercase),
                    _ => false,
                };
            if boundary && !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            word.push(c);
        }
        if !word.is_empty() {
            out.push(word);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::RenameRule::*;

    #[test]
    fn variants_and_fields() {
        assert_eq!(Snake.apply("IncompleteRoute"), "incomplete_route");
        assert_eq!(Kebab.apply("HTTPServer"), "http-server");
        assert_eq!(ScreamingSnake.apply("next_hop"), "NEXT_HOP");
        assert_eq!(Lower.apply("Igp"), "igp");
        assert_eq!(Upper.apply("Igp"), "IGP");
        assert_eq!(Camel.apply("local_pref"), "localPref");
        assert_eq!(Pascal.apply("local_pref"), "LocalPref");
        assert_eq!(Snake.apply("Ipv4Unicast"), "ipv4_unicast");
    }
}
