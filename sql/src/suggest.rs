//! "Did you mean ...?": the nearest candidate to a misspelt word, by edit distance.
//!
//! Used by the parser for keywords (`TUMBLIN` → `TUMBLING`) and meant for the analyzer to
//! reuse for source, column and function names.

/// The candidate nearest to `word` (case-insensitive optimal-string-alignment distance: one
/// edit is an insertion, deletion, substitution or swap of neighbours), if it is close
/// enough to be a likely typo: at most 1 edit for words of up to 4 characters, 2 up to 8,
/// 3 beyond. Ties go to the earliest candidate. An exact (case-insensitive) match is returned
/// too, which helps when the problem is quoting.
pub fn suggest<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let word: Vec<char> = word.chars().flat_map(char::to_uppercase).collect();
    if word.is_empty() || word.len() > 64 {
        return None;
    }
    let limit = match word.len() {
        0..=4 => 1,
        5..=8 => 2,
        _ => 3,
    };
    let mut best: Option<(usize, &'a str)> = None;
    for cand in candidates {
        let c: Vec<char> = cand.chars().flat_map(char::to_uppercase).collect();
        if c.len().abs_diff(word.len()) > limit {
            continue;
        }
        let d = distance(&word, &c);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, cand));
        }
    }
    best.map(|(_, c)| c)
}

/// Optimal string alignment distance between two character sequences.
pub fn distance(a: &[char], b: &[char]) -> usize {
    let (n, m) = (a.len(), b.len());
    // rows i-2, i-1, i
    let mut prev2 = vec![0usize; m + 1];
    let mut prev: Vec<usize> = (0..=m).collect();
    let mut cur = vec![0usize; m + 1];
    for i in 1..=n {
        cur[0] = i;
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[m]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_likely_typos() {
        let kws = ["TUMBLING", "HOPPING", "SESSION"];
        assert_eq!(suggest("TUMBLIN", kws), Some("TUMBLING"));
        assert_eq!(suggest("hoping", kws), Some("HOPPING"));
        assert_eq!(suggest("SESION", kws), Some("SESSION"));
        assert_eq!(suggest("WINDOW", kws), None);
        assert_eq!(suggest("SELCT", ["SET", "SELECT", "SHOW"]), Some("SELECT"));
        assert_eq!(suggest("FORM", ["FROM"]), Some("FROM"));
        assert_eq!(suggest("", ["A"]), None);
        assert_eq!(suggest("x", ["FROM"]), None);
    }

    #[test]
    fn distance_counts_swaps_once() {
        let d = |a: &str, b: &str| {
            distance(
                &a.chars().collect::<Vec<_>>(),
                &b.chars().collect::<Vec<_>>(),
            )
        };
        assert_eq!(d("FORM", "FROM"), 1);
        assert_eq!(d("", "ABC"), 3);
        assert_eq!(d("KITTEN", "SITTING"), 3);
    }
}
