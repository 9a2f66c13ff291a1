//! "Did you mean" suggestions for misspelled names: services here, nets in the resolver.

/// Names are at most 63 characters; a query much longer is not a misspelt name.
const MAX_QUERY_LEN: usize = 100;

/// The candidate closest to `name`, if any is close enough to be a plausible typo.
///
/// Closeness is the Damerau-Levenshtein distance (a swapped pair of letters is one edit, the
/// commonest typo), compared case-insensitively. A candidate qualifies within a third of the
/// name's length (at least one edit), or, for names of four or more characters, when its
/// Jaro-Winkler similarity is at least 0.93, which catches a name cut short (`postgre`).
/// The smallest distance wins, then the higher similarity, then the earlier candidate, so
/// callers list familiar names first.
pub fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    // Longer than any name can be: nothing is close, and comparing would cost the query's length
    // times every candidate's.
    if name.len() > MAX_QUERY_LEN {
        return None;
    }
    let query = name.to_ascii_lowercase();
    let query_len = query.chars().count();
    let max_distance = (query_len.max(3)) / 3;
    let allow_prefix = query_len >= 4;

    let mut best: Option<(usize, f64, &str)> = None;
    for candidate in candidates {
        let folded = candidate.to_ascii_lowercase();
        let length_gap = folded.chars().count().abs_diff(query_len);
        // Cheap rejection before the quadratic distance: a candidate much longer or shorter can
        // only qualify through the prefix-friendly similarity test.
        if length_gap > max_distance && !allow_prefix {
            continue;
        }
        let similarity = strsim::jaro_winkler(&query, &folded);
        if length_gap > max_distance && similarity < 0.93 {
            continue;
        }
        let distance = strsim::damerau_levenshtein(&query, &folded);
        if distance > max_distance && !(allow_prefix && similarity >= 0.93) {
            continue;
        }
        let better = match best {
            None => true,
            Some((d, s, _)) => distance < d || (distance == d && similarity > s),
        };
        if better {
            best = Some((distance, similarity, candidate));
        }
    }
    best.map(|(_, _, candidate)| candidate.to_string())
}

#[cfg(test)]
mod tests {
    use super::suggest;

    #[test]
    fn finds_a_single_edit() {
        let names = ["http", "https", "ssh", "smtp"];
        assert_eq!(suggest("htps", names.into_iter()).as_deref(), Some("https"));
        assert_eq!(suggest("shh", names.into_iter()).as_deref(), Some("ssh"));
        assert_eq!(suggest("SMPT", names.into_iter()).as_deref(), Some("smtp"));
    }

    #[test]
    fn finds_a_name_cut_short() {
        let names = ["postgresql", "mysql"];
        assert_eq!(
            suggest("postgre", names.into_iter()).as_deref(),
            Some("postgresql")
        );
    }

    #[test]
    fn rejects_unrelated_names() {
        let names = ["http", "https", "ssh"];
        assert_eq!(suggest("zzzzzz", names.into_iter()), None);
        assert_eq!(suggest("db", names.into_iter()), None);
    }

    #[test]
    fn ties_go_to_the_earlier_candidate() {
        // "ab" is one edit from both; the first listed wins.
        assert_eq!(
            suggest("ab", ["ax", "ay"].into_iter()).as_deref(),
            Some("ax")
        );
    }
}
