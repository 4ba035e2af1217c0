//! The confidence of a reply, in [0, 1]: retrieval evidence (the share of the question's
//! content words found in the best passage: the quoted one without a model), combined with
//! the model's own signal when a model wrote the reply.
//!
//! - extractive mode: confidence = evidence;
//! - with a model: 0.6 × evidence + 0.4 × signal, where the signal is 1 when the reply cites
//!   a passage, 0.5 when it answers without citing, and 0 when the model said the passages do
//!   not cover the question (then the confidence is also capped at 0.1).

use crate::retrieval::Hit;

/// What the model itself said about its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelSignal {
    /// Extractive mode: no model involved.
    None,
    /// The model answered and cited at least one passage.
    Cited,
    /// The model answered without citing any passage.
    Uncited,
    /// The model said the passages do not cover the question.
    NoAnswer,
}

/// Evidence from retrieval for a model's reply: the best coverage of the question among the
/// passages it was given (a follow-up's context may rank first a passage that covers less).
pub fn evidence(hits: &[Hit]) -> f32 {
    hits.iter()
        .map(|h| h.coverage.clamp(0.0, 1.0))
        .fold(0.0, f32::max)
}

/// The confidence of a reply.
pub fn score(evidence: f32, signal: ModelSignal) -> f32 {
    let evidence = evidence.clamp(0.0, 1.0);
    match signal {
        ModelSignal::None => evidence,
        ModelSignal::Cited => 0.6 * evidence + 0.4,
        ModelSignal::Uncited => 0.6 * evidence + 0.2,
        ModelSignal::NoAnswer => (0.6 * evidence).min(0.1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extractive_confidence_is_the_evidence() {
        assert_eq!(score(0.75, ModelSignal::None), 0.75);
        assert_eq!(score(1.5, ModelSignal::None), 1.0);
    }

    #[test]
    fn evidence_is_the_best_coverage_among_the_passages() {
        let hit = |coverage| Hit {
            article_id: "a".into(),
            chunk_id: "a#0".into(),
            title: "A".into(),
            url: None,
            headings: Vec::new(),
            text: "text".into(),
            snippet: "text".into(),
            score: 1.0,
            coverage,
            found: 1,
        };
        assert_eq!(evidence(&[hit(0.3), hit(0.8), hit(0.5)]), 0.8);
        assert_eq!(evidence(&[]), 0.0);
    }

    #[test]
    fn model_signals_move_confidence_in_the_right_direction() {
        let e = 0.5;
        let cited = score(e, ModelSignal::Cited);
        let uncited = score(e, ModelSignal::Uncited);
        let none = score(e, ModelSignal::NoAnswer);
        assert!((cited - 0.7).abs() < 1e-6, "{cited}");
        assert!((uncited - 0.5).abs() < 1e-6, "{uncited}");
        assert!(none <= 0.1);
        assert!(cited > uncited && uncited > none);
    }
}
