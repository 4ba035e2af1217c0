//! Offline evaluation metrics for Frontdesk: retrieval quality, intent/route
//! classification quality and yes/no decisions (for example "should this be
//! handed off to a human?").
//!
//! Pure functions over plain data; no I/O, no randomness.
//!
//! # Retrieval (one query)
//!
//! `ranked` is the system's ranking (best first, document ids) and `relevant`
//! maps relevant document ids to a graded relevance `rel(d) > 0`. Entries whose
//! relevance is not a finite number greater than zero are treated as not
//! relevant. Only the first occurrence of a document id in `ranked` counts; a
//! repeated id still occupies its rank but contributes nothing. `R` is the set
//! of relevant documents and `top_k` the first `k` entries of `ranked`. With
//! `k = 0`, an empty ranking or an empty `R`, every metric is `0`.
//!
//! - `recall@k = |R ∩ top_k| / |R|`
//! - `hit@k = 1` if `|R ∩ top_k| > 0`, else `0`
//! - `mrr@k = 1 / rank` of the first relevant document at 1-based `rank <= k`,
//!   else `0`
//! - `DCG@k = Σ_{i=1..k} rel_i / log2(i + 1)`, with linear gain `rel_i` (the
//!   relevance of the document at rank `i`, `0` if not relevant), as in
//!   BEIR / trec_eval
//! - `IDCG@k` is `DCG@k` of the ideal ranking: all relevances in `relevant`
//!   sorted descending, truncated to `k`
//! - `nDCG@k = DCG@k / IDCG@k`, and `0` when `IDCG@k = 0`
//!
//! [`retrieval_report`] averages `recall@1`, `recall@5`, `recall@10`,
//! `mrr@10` and `nDCG@10` over the queries that have at least one relevant
//! document (arithmetic mean; queries without relevant documents are skipped
//! and not counted).
//!
//! # Classification (multi-class, from `(expected, predicted)` pairs)
//!
//! For each class `c`: `tp_c` = pairs with expected = predicted = `c`,
//! `support_c` = pairs with expected = `c`, `predicted_c` = pairs with
//! predicted = `c`.
//!
//! - `precision_c = tp_c / predicted_c`, `0` when `predicted_c = 0`
//! - `recall_c = tp_c / support_c`, `0` when `support_c = 0`
//! - `F1_c = 2 · P · R / (P + R)`, `0` when `P + R = 0`
//! - `accuracy = Σ_c tp_c / total`, `0` when `total = 0`
//! - `macro_F1 = mean of F1_c over classes with support_c > 0`, `0` when there
//!   is no such class
//!
//! The confusion table maps expected → predicted → count and only holds pairs
//! that were observed (a missing cell means 0).
//!
//! # Binary decisions (from `(expected, predicted)` pairs of `bool`)
//!
//! `tp` = (true, true), `fp` = (false, true), `fn` = (true, false),
//! `tn` = (false, false).
//!
//! - `precision = tp / (tp + fp)`, `0` when `tp + fp = 0`
//! - `recall = tp / (tp + fn)`, `0` when `tp + fn = 0`
//! - `F1 = 2 · P · R / (P + R)`, `0` when `P + R = 0`

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

use serde::Serialize;

/// `num / den` as `f64`, or `0` when `den` is `0`.
fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        return 0.0;
    }
    // usize -> f64 is exact up to 2^53; counts in an evaluation run are far below that.
    num as f64 / den as f64
}

/// Harmonic mean of precision and recall, `0` when both are `0`.
fn f1(precision: f64, recall: f64) -> f64 {
    let sum = precision + recall;
    if sum > 0.0 {
        2.0 * precision * recall / sum
    } else {
        0.0
    }
}

/// Graded relevance of `doc`, or `None` if it is not (validly) relevant.
fn relevance(relevant: &HashMap<String, f64>, doc: &str) -> Option<f64> {
    relevant
        .get(doc)
        .copied()
        .filter(|rel| rel.is_finite() && *rel > 0.0)
}

/// Number of documents in `relevant` with a valid (finite, > 0) relevance.
fn relevant_count(relevant: &HashMap<String, f64>) -> usize {
    relevant
        .values()
        .filter(|rel| rel.is_finite() && **rel > 0.0)
        .count()
}

/// The first `k` entries of `ranked` with 1-based ranks, skipping repeated ids
/// (a repeat keeps its rank slot but is not yielded).
fn top_k_unique(ranked: &[String], k: usize) -> impl Iterator<Item = (usize, &str)> {
    let mut seen: HashSet<&str> = HashSet::new();
    ranked
        .iter()
        .take(k)
        .enumerate()
        .filter_map(move |(index, doc)| {
            seen.insert(doc.as_str())
                .then_some((index + 1, doc.as_str()))
        })
}

/// `log2(rank + 1)`, the DCG discount for a 1-based `rank`.
fn discount(rank: usize) -> f64 {
    // usize -> f64 is exact up to 2^53; ranks are list positions, far below that.
    (rank as f64 + 1.0).log2()
}

/// Recall at `k`: the share of relevant documents that appear in the top `k`
/// of `ranked` (`|relevant ∩ top k| / |relevant|`); `0` when there are no
/// relevant documents.
pub fn recall_at_k(ranked: &[String], relevant: &HashMap<String, f64>, k: usize) -> f64 {
    let total = relevant_count(relevant);
    let found = top_k_unique(ranked, k)
        .filter(|(_, doc)| relevance(relevant, doc).is_some())
        .count();
    ratio(found, total)
}

/// Hit at `k`: `1` if any relevant document appears in the top `k` of
/// `ranked`, else `0`.
pub fn hit_at_k(ranked: &[String], relevant: &HashMap<String, f64>, k: usize) -> f64 {
    let hit = ranked
        .iter()
        .take(k)
        .any(|doc| relevance(relevant, doc).is_some());
    if hit { 1.0 } else { 0.0 }
}

/// Reciprocal rank at `k`: `1 / rank` of the first relevant document within
/// the top `k` of `ranked` (ranks start at 1), else `0`.
pub fn mrr_at_k(ranked: &[String], relevant: &HashMap<String, f64>, k: usize) -> f64 {
    ranked
        .iter()
        .take(k)
        .position(|doc| relevance(relevant, doc).is_some())
        .map_or(0.0, |index| ratio(1, index + 1))
}

/// Normalised discounted cumulative gain at `k` with linear gain (as in BEIR /
/// trec_eval): `Σ rel_i / log2(i + 1)` over the top `k` (ranks from 1),
/// divided by the same sum for the ideal ordering of all relevances in
/// `relevant`; `0` when the ideal is `0`.
pub fn ndcg_at_k(ranked: &[String], relevant: &HashMap<String, f64>, k: usize) -> f64 {
    let dcg: f64 = top_k_unique(ranked, k)
        .filter_map(|(rank, doc)| relevance(relevant, doc).map(|rel| rel / discount(rank)))
        .sum();

    let mut ideal: Vec<f64> = relevant
        .values()
        .copied()
        .filter(|rel| rel.is_finite() && *rel > 0.0)
        .collect();
    ideal.sort_by(|a, b| b.total_cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(index, rel)| rel / discount(index + 1))
        .sum();

    if idcg > 0.0 { dcg / idcg } else { 0.0 }
}

/// Mean retrieval metrics over a set of queries.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RetrievalReport {
    /// Number of queries averaged (those with at least one relevant document).
    pub queries: usize,
    /// Mean recall@1.
    pub recall_at_1: f64,
    /// Mean recall@5.
    pub recall_at_5: f64,
    /// Mean recall@10.
    pub recall_at_10: f64,
    /// Mean reciprocal rank within the top 10.
    pub mrr_at_10: f64,
    /// Mean nDCG@10 (linear gain).
    pub ndcg_at_10: f64,
}

/// Means over queries (queries with no relevant documents are skipped and not
/// counted). Each run is `(ranked, relevant)` as for [`recall_at_k`].
pub fn retrieval_report(runs: &[(Vec<String>, HashMap<String, f64>)]) -> RetrievalReport {
    let mut sum = RetrievalReport::default();
    for (ranked, relevant) in runs {
        if relevant_count(relevant) == 0 {
            continue;
        }
        sum.queries += 1;
        sum.recall_at_1 += recall_at_k(ranked, relevant, 1);
        sum.recall_at_5 += recall_at_k(ranked, relevant, 5);
        sum.recall_at_10 += recall_at_k(ranked, relevant, 10);
        sum.mrr_at_10 += mrr_at_k(ranked, relevant, 10);
        sum.ndcg_at_10 += ndcg_at_k(ranked, relevant, 10);
    }
    if sum.queries == 0 {
        return RetrievalReport::default();
    }
    // usize -> f64 is exact up to 2^53; a query count is far below that.
    let n = sum.queries as f64;
    RetrievalReport {
        queries: sum.queries,
        recall_at_1: sum.recall_at_1 / n,
        recall_at_5: sum.recall_at_5 / n,
        recall_at_10: sum.recall_at_10 / n,
        mrr_at_10: sum.mrr_at_10 / n,
        ndcg_at_10: sum.ndcg_at_10 / n,
    }
}

/// Scores of one class in a multi-class evaluation.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClassScores {
    /// `tp / predicted`, `0` when nothing was predicted as this class.
    pub precision: f64,
    /// `tp / support`, `0` when the class never was expected.
    pub recall: f64,
    /// Harmonic mean of precision and recall, `0` when both are `0`.
    pub f1: f64,
    /// Number of pairs whose expected class is this class.
    pub support: usize,
    /// Number of pairs whose predicted class is this class.
    pub predicted: usize,
}

/// Multi-class evaluation summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClassificationReport {
    /// Number of `(expected, predicted)` pairs.
    pub total: usize,
    /// Share of pairs where predicted equals expected (`0` when `total` is `0`).
    pub accuracy: f64,
    /// Mean F1 over classes with support > 0.
    pub macro_f1: f64,
    /// Scores for every class seen as expected or predicted.
    pub per_class: BTreeMap<String, ClassScores>,
    /// Expected class -> predicted class -> count; only observed pairs are present.
    pub confusion: BTreeMap<String, BTreeMap<String, usize>>,
}

/// Per-class precision/recall/F1 and a confusion table from (expected, predicted) pairs.
/// Precision is 0 when nothing was predicted for the class; recall 0 when support is 0; F1 0 when P+R = 0.
pub fn classification_report(pairs: &[(String, String)]) -> ClassificationReport {
    let mut confusion: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let mut support: BTreeMap<&str, usize> = BTreeMap::new();
    let mut predicted: BTreeMap<&str, usize> = BTreeMap::new();
    let mut true_positives: BTreeMap<&str, usize> = BTreeMap::new();

    for (expected, guess) in pairs {
        *confusion
            .entry(expected.clone())
            .or_default()
            .entry(guess.clone())
            .or_default() += 1;
        *support.entry(expected).or_default() += 1;
        *predicted.entry(guess).or_default() += 1;
        if expected == guess {
            *true_positives.entry(expected).or_default() += 1;
        }
    }

    let classes: BTreeSet<&str> = support.keys().chain(predicted.keys()).copied().collect();
    let mut per_class = BTreeMap::new();
    let mut f1_sum = 0.0;
    let mut f1_classes = 0usize;
    for class in classes {
        let tp = true_positives.get(class).copied().unwrap_or(0);
        let class_support = support.get(class).copied().unwrap_or(0);
        let class_predicted = predicted.get(class).copied().unwrap_or(0);
        let precision = ratio(tp, class_predicted);
        let recall = ratio(tp, class_support);
        let scores = ClassScores {
            precision,
            recall,
            f1: f1(precision, recall),
            support: class_support,
            predicted: class_predicted,
        };
        if class_support > 0 {
            f1_sum += scores.f1;
            f1_classes += 1;
        }
        per_class.insert(class.to_owned(), scores);
    }

    let correct: usize = true_positives.values().sum();
    ClassificationReport {
        total: pairs.len(),
        accuracy: ratio(correct, pairs.len()),
        // usize -> f64 is exact up to 2^53; a class count is far below that.
        macro_f1: if f1_classes == 0 {
            0.0
        } else {
            f1_sum / f1_classes as f64
        },
        per_class,
        confusion,
    }
}

/// Confusion counts and scores of a yes/no decision.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BinaryScores {
    /// Expected yes, predicted yes.
    pub tp: usize,
    /// Expected no, predicted yes.
    pub fp: usize,
    /// Expected yes, predicted no (`fn` is a keyword, hence the underscore).
    pub fn_: usize,
    /// Expected no, predicted no.
    pub tn: usize,
    /// `tp / (tp + fp)`, `0` when nothing was predicted yes.
    pub precision: f64,
    /// `tp / (tp + fn)`, `0` when nothing was expected yes.
    pub recall: f64,
    /// Harmonic mean of precision and recall, `0` when both are `0`.
    pub f1: f64,
}

/// Precision/recall of a yes/no decision from (expected, predicted) pairs.
pub fn binary_scores(pairs: &[(bool, bool)]) -> BinaryScores {
    let mut scores = BinaryScores::default();
    for &(expected, predicted) in pairs {
        match (expected, predicted) {
            (true, true) => scores.tp += 1,
            (false, true) => scores.fp += 1,
            (true, false) => scores.fn_ += 1,
            (false, false) => scores.tn += 1,
        }
    }
    scores.precision = ratio(scores.tp, scores.tp + scores.fp);
    scores.recall = ratio(scores.tp, scores.tp + scores.fn_);
    scores.f1 = f1(scores.precision, scores.recall);
    scores
}

/// Text rendering of a classification report: a per-class table (class,
/// precision, recall, F1, support) with 3 decimals and a summary line, then the
/// confusion table with expected classes as rows and predicted classes as
/// columns (every class on both axes, missing cells as 0), aligned with spaces.
pub fn render_classification(report: &ClassificationReport) -> String {
    let classes: BTreeSet<&str> = report
        .per_class
        .keys()
        .map(String::as_str)
        .chain(report.confusion.keys().map(String::as_str))
        .chain(
            report
                .confusion
                .values()
                .flat_map(|row| row.keys().map(String::as_str)),
        )
        .collect();

    let mut out = String::new();
    // `write!` into a `String` cannot fail, so its `fmt::Result` is ignored.

    // Per-class table.
    let name_width = classes
        .iter()
        .map(|class| class.chars().count())
        .chain(["class".len(), "macro avg".len()])
        .max()
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "{:<name_width$}  {:>9}  {:>6}  {:>5}  {:>7}",
        "class", "precision", "recall", "f1", "support"
    );
    for (class, scores) in &report.per_class {
        let _ = writeln!(
            out,
            "{:<name_width$}  {:>9.3}  {:>6.3}  {:>5.3}  {:>7}",
            class, scores.precision, scores.recall, scores.f1, scores.support
        );
    }
    let _ = writeln!(
        out,
        "accuracy {:.3}  macro f1 {:.3}  total {}",
        report.accuracy, report.macro_f1, report.total
    );

    // Confusion table.
    let _ = writeln!(out);
    let _ = writeln!(out, "confusion (rows: expected, columns: predicted)");
    let cell = |expected: &str, predicted: &str| -> usize {
        report
            .confusion
            .get(expected)
            .and_then(|row| row.get(predicted))
            .copied()
            .unwrap_or(0)
    };
    let label_width = classes
        .iter()
        .map(|class| class.chars().count())
        .max()
        .unwrap_or(0);
    let column_widths: Vec<usize> = classes
        .iter()
        .map(|&predicted| {
            classes
                .iter()
                .map(|&expected| cell(expected, predicted).to_string().len())
                .chain([predicted.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();

    let mut header = format!("{:<label_width$}", "");
    for (class, width) in classes.iter().zip(&column_widths) {
        let _ = write!(header, "  {class:>width$}");
    }
    let _ = writeln!(out, "{}", header.trim_end());
    for &expected in &classes {
        let _ = write!(out, "{expected:<label_width$}");
        for (&predicted, width) in classes.iter().zip(&column_widths) {
            let _ = write!(out, "  {:>width$}", cell(expected, predicted));
        }
        let _ = writeln!(out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const EPS: f64 = 1e-9;

    fn assert_close(actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() < EPS,
            "expected {expected}, got {actual}"
        );
    }

    fn ranking(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|id| (*id).to_owned()).collect()
    }

    fn judgments(pairs: &[(&str, f64)]) -> HashMap<String, f64> {
        pairs
            .iter()
            .map(|(id, rel)| ((*id).to_owned(), *rel))
            .collect()
    }

    fn labelled(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(e, p)| ((*e).to_owned(), (*p).to_owned()))
            .collect()
    }

    fn class<'a>(report: &'a ClassificationReport, name: &str) -> &'a ClassScores {
        match report.per_class.get(name) {
            Some(scores) => scores,
            None => panic!("class {name} missing from report"),
        }
    }

    // ---- retrieval ----

    #[test]
    fn recall_divides_by_all_relevant_even_when_they_exceed_k() {
        let ranked = ranking(&["a", "x", "b", "c", "d"]);
        let relevant = judgments(&[("a", 1.0), ("b", 1.0), ("c", 1.0), ("d", 1.0)]);
        // top 2 = {a, x}: 1 of 4 relevant found -> 1/4 (not 1/2 or 1/k).
        assert_close(recall_at_k(&ranked, &relevant, 2), 0.25);
        // top 4 = {a, x, b, c}: 3 of 4.
        assert_close(recall_at_k(&ranked, &relevant, 4), 0.75);
        assert_close(recall_at_k(&ranked, &relevant, 10), 1.0);
    }

    #[test]
    fn recall_counts_a_repeated_document_once() {
        let ranked = ranking(&["a", "a", "b"]);
        let relevant = judgments(&[("a", 1.0), ("b", 1.0), ("c", 1.0)]);
        // top 2 = {a, a}: only one distinct relevant document -> 1/3.
        assert_close(recall_at_k(&ranked, &relevant, 2), 1.0 / 3.0);
    }

    #[test]
    fn hit_is_one_only_when_a_relevant_document_is_in_top_k() {
        let ranked = ranking(&["x", "y", "r"]);
        let relevant = judgments(&[("r", 2.0)]);
        assert_close(hit_at_k(&ranked, &relevant, 2), 0.0);
        assert_close(hit_at_k(&ranked, &relevant, 3), 1.0);
    }

    #[test]
    fn mrr_is_one_third_when_first_relevant_is_at_rank_three() {
        let ranked = ranking(&["x", "y", "r", "s"]);
        let relevant = judgments(&[("r", 1.0), ("s", 3.0)]);
        assert_close(mrr_at_k(&ranked, &relevant, 10), 1.0 / 3.0);
    }

    #[test]
    fn mrr_is_zero_when_first_relevant_is_beyond_k() {
        let ranked = ranking(&["x", "y", "r"]);
        let relevant = judgments(&[("r", 1.0)]);
        assert_close(mrr_at_k(&ranked, &relevant, 2), 0.0);
    }

    #[test]
    fn ndcg_uses_linear_gain_and_log2_rank_plus_one_discount() {
        let ranked = ranking(&["d1", "d2", "d3", "d4"]);
        // d5 is relevant but never retrieved: it still counts in the ideal.
        let relevant = judgments(&[("d1", 1.0), ("d3", 3.0), ("d5", 2.0)]);
        // DCG@4  = 1/log2(2) + 0/log2(3) + 3/log2(4) + 0/log2(5) = 1 + 1.5 = 2.5
        // IDCG@4 = 3/log2(2) + 2/log2(3) + 1/log2(4) = 3 + 1.2618595 + 0.5 = 4.7618595
        // nDCG@4 = 2.5 / 4.7618595 = 0.5250050
        // (exponential gain 2^rel - 1 would give 4.5 / 9.3927893 = 0.4791; a log2(i)
        // discount or an ideal built from retrieved documents only also differ.)
        let expected = 2.5 / (3.0 + 2.0 / 3f64.log2() + 0.5);
        assert_close(ndcg_at_k(&ranked, &relevant, 4), expected);
        assert!((ndcg_at_k(&ranked, &relevant, 4) - 0.525_005_0).abs() < 1e-6);
    }

    #[test]
    fn ndcg_truncates_the_ideal_ranking_at_k() {
        let ranked = ranking(&["d1", "d2", "d3", "d4"]);
        let relevant = judgments(&[("d1", 1.0), ("d3", 3.0), ("d5", 2.0)]);
        // DCG@2  = 1/log2(2) + 0 = 1
        // IDCG@2 = 3/log2(2) + 2/log2(3) = 3 + 1.2618595 = 4.2618595
        // nDCG@2 = 1 / 4.2618595 = 0.2346394
        let expected = 1.0 / (3.0 + 2.0 / 3f64.log2());
        assert_close(ndcg_at_k(&ranked, &relevant, 2), expected);
        assert!((ndcg_at_k(&ranked, &relevant, 2) - 0.234_639_4).abs() < 1e-6);
    }

    #[test]
    fn ndcg_is_one_for_the_ideal_ordering() {
        let ranked = ranking(&["b", "a", "c", "x"]);
        let relevant = judgments(&[("a", 2.0), ("b", 3.0), ("c", 1.0)]);
        assert_close(ndcg_at_k(&ranked, &relevant, 10), 1.0);
    }

    #[test]
    fn ndcg_ignores_repeated_documents_so_it_never_exceeds_one() {
        let ranked = ranking(&["a", "a", "b"]);
        let relevant = judgments(&[("a", 1.0), ("b", 1.0)]);
        // DCG@3  = 1/log2(2) + (repeat, 0) + 1/log2(4) = 1.5
        // IDCG@3 = 1/log2(2) + 1/log2(3) = 1.6309298
        let expected = 1.5 / (1.0 + 1.0 / 3f64.log2());
        assert_close(ndcg_at_k(&ranked, &relevant, 3), expected);
    }

    #[test]
    fn metrics_are_zero_for_an_empty_ranking() {
        let relevant = judgments(&[("a", 1.0)]);
        assert_close(recall_at_k(&[], &relevant, 5), 0.0);
        assert_close(hit_at_k(&[], &relevant, 5), 0.0);
        assert_close(mrr_at_k(&[], &relevant, 5), 0.0);
        assert_close(ndcg_at_k(&[], &relevant, 5), 0.0);
    }

    #[test]
    fn metrics_are_zero_without_relevant_documents() {
        let ranked = ranking(&["a", "b"]);
        for relevant in [judgments(&[]), judgments(&[("a", 0.0), ("b", f64::NAN)])] {
            assert_close(recall_at_k(&ranked, &relevant, 5), 0.0);
            assert_close(hit_at_k(&ranked, &relevant, 5), 0.0);
            assert_close(mrr_at_k(&ranked, &relevant, 5), 0.0);
            assert_close(ndcg_at_k(&ranked, &relevant, 5), 0.0);
        }
    }

    #[test]
    fn metrics_are_zero_when_k_is_zero() {
        let ranked = ranking(&["a", "b"]);
        let relevant = judgments(&[("a", 1.0)]);
        assert_close(recall_at_k(&ranked, &relevant, 0), 0.0);
        assert_close(hit_at_k(&ranked, &relevant, 0), 0.0);
        assert_close(mrr_at_k(&ranked, &relevant, 0), 0.0);
        assert_close(ndcg_at_k(&ranked, &relevant, 0), 0.0);
    }

    #[test]
    fn retrieval_report_averages_and_skips_queries_without_relevant_documents() {
        let runs = vec![
            // q1: relevant a at rank 1.
            (ranking(&["a", "x"]), judgments(&[("a", 1.0)])),
            // q2: relevant b at rank 2, c at rank 12 (outside every cut-off).
            (
                ranking(&[
                    "x", "b", "y", "y2", "y3", "y4", "y5", "y6", "y7", "y8", "y9", "c",
                ]),
                judgments(&[("b", 1.0), ("c", 1.0)]),
            ),
            // q3: nothing relevant -> skipped.
            (ranking(&["a"]), judgments(&[])),
        ];
        let report = retrieval_report(&runs);
        assert_eq!(report.queries, 2);
        // recall@1: (1 + 0) / 2; recall@5 and @10: (1 + 1/2) / 2 = 0.75
        assert_close(report.recall_at_1, 0.5);
        assert_close(report.recall_at_5, 0.75);
        assert_close(report.recall_at_10, 0.75);
        // mrr@10: (1 + 1/2) / 2 = 0.75
        assert_close(report.mrr_at_10, 0.75);
        // q2 nDCG@10 = (1/log2(3)) / (1 + 1/log2(3)) = 0.6309298 / 1.6309298 = 0.3868528
        let q2 = (1.0 / 3f64.log2()) / (1.0 + 1.0 / 3f64.log2());
        assert_close(report.ndcg_at_10, (1.0 + q2) / 2.0);
    }

    #[test]
    fn retrieval_report_is_default_when_no_query_has_relevant_documents() {
        let runs = vec![(ranking(&["a"]), judgments(&[]))];
        assert_eq!(retrieval_report(&runs), RetrievalReport::default());
        assert_eq!(retrieval_report(&[]), RetrievalReport::default());
    }

    // ---- classification ----

    /// a: 3 right, 1 -> b; b: 1 right, 1 -> a; c: 1 right, 1 -> a, 1 -> b.
    fn three_class_pairs() -> Vec<(String, String)> {
        labelled(&[
            ("a", "a"),
            ("a", "a"),
            ("a", "a"),
            ("a", "b"),
            ("b", "b"),
            ("b", "a"),
            ("c", "c"),
            ("c", "a"),
            ("c", "b"),
        ])
    }

    #[test]
    fn three_class_report_has_hand_computed_precision_recall_and_f1() {
        let report = classification_report(&three_class_pairs());
        assert_eq!(report.total, 9);
        // correct = 3 + 1 + 1 = 5 of 9
        assert_close(report.accuracy, 5.0 / 9.0);

        // a: tp 3, predicted 5 (3 + b->a + c->a), support 4
        // P = 3/5 = 0.6, R = 3/4 = 0.75, F1 = 2*0.6*0.75/1.35 = 2/3
        let a = class(&report, "a");
        assert_eq!((a.support, a.predicted), (4, 5));
        assert_close(a.precision, 0.6);
        assert_close(a.recall, 0.75);
        assert_close(a.f1, 2.0 / 3.0);

        // b: tp 1, predicted 3 (a->b, b->b, c->b), support 2
        // P = 1/3, R = 1/2, F1 = 2*(1/6)/(5/6) = 0.4
        let b = class(&report, "b");
        assert_eq!((b.support, b.predicted), (2, 3));
        assert_close(b.precision, 1.0 / 3.0);
        assert_close(b.recall, 0.5);
        assert_close(b.f1, 0.4);

        // c: tp 1, predicted 1, support 3
        // P = 1, R = 1/3, F1 = 2*(1/3)/(4/3) = 0.5
        let c = class(&report, "c");
        assert_eq!((c.support, c.predicted), (3, 1));
        assert_close(c.precision, 1.0);
        assert_close(c.recall, 1.0 / 3.0);
        assert_close(c.f1, 0.5);

        // macro F1 = (2/3 + 0.4 + 0.5) / 3 = 0.5222 (micro F1 would be 5/9 = 0.5556)
        assert_close(report.macro_f1, (2.0 / 3.0 + 0.4 + 0.5) / 3.0);
    }

    #[test]
    fn confusion_maps_expected_to_predicted_counts() {
        let report = classification_report(&three_class_pairs());
        let row = |expected: &str| -> Vec<(String, usize)> {
            report
                .confusion
                .get(expected)
                .map(|r| r.iter().map(|(k, v)| (k.clone(), *v)).collect())
                .unwrap_or_default()
        };
        let cells = |items: &[(&str, usize)]| -> Vec<(String, usize)> {
            items.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
        };
        assert_eq!(row("a"), cells(&[("a", 3), ("b", 1)]));
        assert_eq!(row("b"), cells(&[("a", 1), ("b", 1)]));
        assert_eq!(row("c"), cells(&[("a", 1), ("b", 1), ("c", 1)]));
        assert_eq!(report.confusion.len(), 3);
    }

    #[test]
    fn class_only_predicted_is_listed_but_excluded_from_macro_f1() {
        let report = classification_report(&labelled(&[("a", "a"), ("a", "z")]));
        // z: never expected -> support 0, recall 0; predicted once, wrongly -> precision 0.
        let z = class(&report, "z");
        assert_eq!((z.support, z.predicted), (0, 1));
        assert_close(z.precision, 0.0);
        assert_close(z.recall, 0.0);
        assert_close(z.f1, 0.0);
        // a: P = 1/1, R = 1/2, F1 = 2/3; macro over {a} only = 2/3 (not 1/3).
        assert_close(report.macro_f1, 2.0 / 3.0);
        assert_close(report.accuracy, 0.5);
    }

    #[test]
    fn class_never_predicted_has_zero_precision() {
        let report = classification_report(&labelled(&[("a", "b"), ("b", "b")]));
        let a = class(&report, "a");
        assert_eq!((a.support, a.predicted), (1, 0));
        assert_close(a.precision, 0.0);
        assert_close(a.recall, 0.0);
        assert_close(a.f1, 0.0);
        // b: P = 1/2, R = 1, F1 = 2/3; macro = (0 + 2/3) / 2 = 1/3
        assert_close(report.macro_f1, 1.0 / 3.0);
    }

    #[test]
    fn empty_classification_input_gives_default_report() {
        assert_eq!(classification_report(&[]), ClassificationReport::default());
    }

    // ---- binary ----

    #[test]
    fn binary_scores_with_all_four_cells_non_zero() {
        let mut pairs = Vec::new();
        pairs.extend([(true, true); 3]);
        pairs.extend([(false, true); 1]);
        pairs.extend([(true, false); 2]);
        pairs.extend([(false, false); 4]);
        let scores = binary_scores(&pairs);
        assert_eq!((scores.tp, scores.fp, scores.fn_, scores.tn), (3, 1, 2, 4));
        // P = 3/(3+1) = 0.75, R = 3/(3+2) = 0.6, F1 = 2*0.45/1.35 = 2/3
        assert_close(scores.precision, 0.75);
        assert_close(scores.recall, 0.6);
        assert_close(scores.f1, 2.0 / 3.0);
    }

    #[test]
    fn binary_scores_are_zero_without_positives() {
        let scores = binary_scores(&[(false, false), (false, false)]);
        assert_eq!(scores.tn, 2);
        assert_close(scores.precision, 0.0);
        assert_close(scores.recall, 0.0);
        assert_close(scores.f1, 0.0);
        assert_eq!(binary_scores(&[]), BinaryScores::default());
    }

    // ---- rendering ----

    #[test]
    fn render_shows_per_class_table_then_aligned_confusion() {
        let report = classification_report(&three_class_pairs());
        let expected = "\
class      precision  recall     f1  support
a              0.600   0.750  0.667        4
b              0.333   0.500  0.400        2
c              1.000   0.333  0.500        3
accuracy 0.556  macro f1 0.522  total 9

confusion (rows: expected, columns: predicted)
   a  b  c
a  3  1  0
b  1  1  0
c  1  1  1
";
        assert_eq!(render_classification(&report), expected);
    }

    #[test]
    fn render_widens_columns_for_long_names_and_large_counts() {
        let mut pairs = labelled(&[("billing", "refund")]);
        pairs.extend(std::iter::repeat_n(
            ("billing".to_owned(), "billing".to_owned()),
            12,
        ));
        let rendered = render_classification(&classification_report(&pairs));
        let confusion: Vec<&str> = rendered
            .lines()
            .skip_while(|line| !line.starts_with("confusion"))
            .skip(1)
            .collect();
        assert_eq!(
            confusion,
            vec![
                "         billing  refund",
                "billing       12       1",
                "refund         0       0",
            ]
        );
    }
}
