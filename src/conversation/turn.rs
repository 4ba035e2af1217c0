//! One turn: store the customer's message, then (unless humans own the conversation)
//! retrieve passages, ask the model or quote the help center, score confidence, store and
//! stream the reply, and hand off when needed.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::mpsc;

use super::{
    account,
    confidence::{self, ModelSignal},
    model, smalltalk, triggers,
};
use crate::{
    app::AppState,
    events::To,
    handoff,
    llm::extractive,
    phrases::{Lang, Phrases},
    retrieval::{self, Hit, Searching},
    storage::{
        ActionRecord, Appended, Citation, Conversation, Handoff, HandoffReason, Message, Mode,
        NewMessage, Role, StoreError,
    },
    telemetry::Step,
};

/// The error code of a turn that ended in a bug (as the HTTP layer's for a panicking request).
pub const INTERNAL: &str = "internal";

/// What a turn emits, in order: deltas, replies, maybe a handoff (or an error), its
/// timings, then the end of the channel.
#[derive(Debug, Clone)]
pub enum TurnEvent {
    Delta(String),
    Reply(Message),
    Handoff(Handoff),
    Error { code: &'static str, message: String },
    Timings(Timings),
}

/// Where one turn's time went (the `Server-Timing` header of a JSON reply).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    /// Storing the customer's message.
    pub store: Duration,
    /// Searching the help center.
    pub retrieve: Duration,
    /// Reading the conversation and its latest messages, alongside the store (and the
    /// messages again after it, when one landed in between).
    pub context: Duration,
    /// Waiting on the model, summed over its calls.
    pub model: Duration,
    /// Storing the reply.
    pub reply: Duration,
    /// Opening a handoff (the model's summary is written after it opens).
    pub handoff: Duration,
}

/// Stores the customer message and starts its turn. Returns the stored message and a channel
/// of turn events; for a repeated `client_message_id`, the first message and its stored
/// outcome instead. The turn runs on the task tracker, so a client that disconnects does not
/// cancel it.
pub async fn post_customer_message(
    state: &Arc<AppState>,
    conversation: &Conversation,
    text: &str,
    client_message_id: Option<&str>,
) -> Result<(Message, mpsc::UnboundedReceiver<TurnEvent>), StoreError> {
    let arrived = Instant::now();
    let (tx, rx) = mpsc::unbounded_channel();
    // Held to the end of the turn: a retry waits for the whole first result.
    let held = match client_message_id {
        Some(id) => Some(state.retry_locks.lock(&conversation.id, id).await),
        None => None,
    };
    // Reading and searching need nothing stored: they run while the message is written, the
    // search once the reads give it the conversation's latest messages as its context. (The
    // search goes unused for a repeated message or a turn that ends before it needs passages;
    // the reads, for a repeated message.)
    let store = state
        .store
        .append_customer_message(&conversation.id, text, client_message_id);
    let read_then_search = async {
        let (context, read_in) = timed(read_context(state, &conversation.id)).await;
        let search = match &context {
            Ok((Some((fresh, false)), latest)) if fresh.mode == Mode::Ai => {
                let lang = reply_lang(fresh, text, last(latest, TRIGGER_WINDOW));
                Some(start_search(state, text, lang, latest))
            }
            _ => None,
        };
        (context, read_in, search)
    };
    let ((appended, stored_in), (context, read_in, early_search)) =
        tokio::join!(timed(store), read_then_search);
    let appended = appended?;
    let mut timings = Timings::default();
    record(state, Step::Store, &mut timings.store, stored_in);
    match appended {
        Appended::Duplicate(message) => {
            for reply in state.store.replies_to(&message.id).await? {
                let _ = tx.send(TurnEvent::Reply(reply));
            }
            if let Some(handoff) = state.store.handoff_for_message(&message.id).await? {
                let _ = tx.send(TurnEvent::Handoff(handoff));
            }
            let _ = tx.send(TurnEvent::Timings(timings));
            Ok((message, rx))
        }
        Appended::New(message) => {
            state.events.publish_message(&message, To::Conversation);
            timings.context = read_in;
            let turn_state = state.clone();
            let customer_message = message.clone();
            state.tasks.spawn(async move {
                let _held = held;
                // After the turn of the message before, if it still runs: its reply comes
                // first, and this turn reads it (and whatever it changed, such as a verified
                // customer) as context.
                let conversation = customer_message.conversation_id.as_str();
                let in_turn = turn_state.turn_locks.lock(conversation, "").await;
                let (context, early_search) = if in_turn.waited {
                    // The search too: the reply it follows may be what the question is about.
                    let fresh = read_context(&turn_state, conversation)
                        .await
                        .map(|(fresh, latest)| (fresh, Latest::Settled(latest)));
                    (fresh, None)
                } else {
                    let early =
                        context.map(|(fresh, latest)| (fresh, Latest::AlongsideStore(latest)));
                    (early, early_search)
                };
                let turn = run(
                    &turn_state,
                    &customer_message,
                    context,
                    early_search,
                    &tx,
                    &mut timings,
                );
                let (ended, took) = timed(ended(turn, conversation)).await;
                drop(in_turn);
                turn_state.metrics.observe(Step::Turn, took);
                turn_state.metrics.observe(
                    Step::Overhead,
                    arrived.elapsed().saturating_sub(timings.model),
                );
                let _ = tx.send(TurnEvent::Timings(timings));
                if let Some(error) = ended {
                    let _ = tx.send(error);
                }
            });
            Ok((message, rx))
        }
    }
}

/// The reply a turn settles on before it is stored.
pub(super) struct Draft {
    pub text: String,
    pub citations: Vec<Citation>,
    pub actions: Vec<ActionRecord>,
    pub confidence: Option<f32>,
    pub handoff: Option<HandoffReason>,
}

/// What a turn reads besides its message: the conversation with whether its channel is
/// human-only, and its latest messages.
type Context = (Option<(Conversation, bool)>, Vec<Message>);

/// A conversation's latest messages, as a turn read them.
enum Latest {
    /// While its message was being stored: one may be missing ([`before`]).
    AlongsideStore(Vec<Message>),
    /// After its message was stored and the turn before it ended: every message before its
    /// own, and the replies and agents' messages numbered after it, is its context.
    Settled(Vec<Message>),
}

/// Reads a turn's context while its message is stored, fresh since the request loaded the
/// conversation (an agent may have switched the mode, or a signed identity or an earlier turn
/// verified the customer, meanwhile). The read begins after the request arrived, so a switch
/// to human mode acknowledged before the customer sent the message is always seen; one
/// committed while the message is being stored may be missed (read after the store, it
/// was seen), a switch that raced the customer's send either way. The latest messages are
/// one more than the turn needs, in case the read already sees the message being stored;
/// [`before`] checks that none is missing.
async fn read_context(state: &AppState, conversation_id: &str) -> Result<Context, StoreError> {
    tokio::try_join!(
        state.store.conversation_and_channel_mode(conversation_id),
        state
            .store
            .recent_messages(conversation_id, i64::MAX, window(state) + 1),
    )
}

/// Runs a turn to its end: None when it ended well, else the error event to send. A panic
/// (a bug) ends the turn with an honest error too, instead of a reply that never comes.
async fn ended(
    turn: impl Future<Output = Result<(), StoreError>>,
    conversation: &str,
) -> Option<TurnEvent> {
    use futures_util::FutureExt;
    match std::panic::AssertUnwindSafe(turn).catch_unwind().await {
        Ok(Ok(())) => None,
        Ok(Err(error)) => {
            tracing::error!(%error, conversation, "turn failed");
            Some(TurnEvent::Error {
                code: "store_unavailable",
                message: "The reply could not be saved; please try again.".into(),
            })
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("(no message)");
            tracing::error!(conversation, panic = what, "turn panicked");
            Some(TurnEvent::Error {
                code: INTERNAL,
                message:
                    "Something went wrong while answering; please try again, or ask for a person."
                        .into(),
            })
        }
    }
}

/// Runs `work` and says how long it took.
async fn timed<T>(work: impl Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let output = work.await;
    (output, started.elapsed())
}

/// How many earlier messages a turn reads: for the triggers and for the model's history.
fn window(state: &AppState) -> usize {
    TRIGGER_WINDOW.max(state.settings.chat.history_messages)
}

/// The last `window` messages before number `seq`, from the latest messages read alongside
/// its store; None when that read missed one (a message numbered below `seq` but committed
/// after the read began): numbers have no gaps, so each wanted number must be there.
fn before(latest: Vec<Message>, seq: i64, window: usize) -> Option<Vec<Message>> {
    let from = seq
        .saturating_sub(i64::try_from(window).unwrap_or(i64::MAX))
        .max(1);
    let recent: Vec<Message> = latest
        .into_iter()
        .filter(|m| (from..seq).contains(&m.seq))
        .collect();
    (i64::try_from(recent.len()) == Ok(seq - from)).then_some(recent)
}

#[tracing::instrument(skip_all, fields(conversation = %message.conversation_id, seq = message.seq))]
async fn run(
    state: &Arc<AppState>,
    message: &Message,
    context: Result<(Option<(Conversation, bool)>, Latest), StoreError>,
    early_search: Option<Searching>,
    tx: &mpsc::UnboundedSender<TurnEvent>,
    timings: &mut Timings,
) -> Result<(), StoreError> {
    let (fresh, latest) = context?;
    let window = window(state);
    let read = match latest {
        Latest::AlongsideStore(latest) => before(latest, message.seq, window),
        Latest::Settled(mut latest) => {
            // Its own message is the question; customers' messages after it wait their turn.
            latest.retain(|m| m.seq < message.seq || m.role != Role::Customer);
            let surplus = latest.len().saturating_sub(window);
            latest.drain(..surplus);
            Some(latest)
        }
    };
    let recent = match read {
        Some(recent) => recent,
        None => {
            let again = state
                .store
                .recent_messages(&message.conversation_id, message.seq, window);
            let (recent, took) = timed(again).await;
            timings.context += took;
            recent?
        }
    };
    state.metrics.observe(Step::Context, timings.context);
    let (conversation, channel_human_only) = fresh.ok_or(sqlx::Error::RowNotFound)?;
    let conversation = &conversation;
    if conversation.mode == Mode::Human || channel_human_only {
        return to_people(state, conversation, message, HandoffReason::Policy, tx).await;
    }
    let earlier = last(&recent, TRIGGER_WINDOW);
    let lang = reply_lang(conversation, &message.text, earlier);
    let phrases = lang.phrases();
    // A handoff before any answer, or small talk: a fixed reply, no search and no model.
    let fixed = match triggers::before_answer(&message.text, earlier) {
        Some(reason) => Some((triggers::acknowledgement(reason, phrases), Some(reason))),
        None => smalltalk::reply(&message.text, triggers::reply_before(earlier), phrases)
            .map(|text| (text, None)),
    };
    if let Some((text, handoff)) = fixed {
        let draft = Draft {
            text: text.to_owned(),
            citations: Vec::new(),
            actions: Vec::new(),
            confidence: None,
            handoff,
        };
        return finish(state, conversation, message, draft, tx, timings).await;
    }
    let draft = match &state.llm {
        Some(llm) => {
            let hits = retrieve(state, message, lang, &recent, early_search, timings).await;
            let history = last(&recent, state.settings.chat.history_messages);
            let asked = model::Asked {
                conversation,
                message,
                history,
                hits: &hits,
                phrases,
            };
            model::generate(state, llm, asked, tx, &mut timings.model).await?
        }
        None => match account::answer(state, conversation, message, &recent, phrases).await? {
            Some(reply) if !reply.asks_for_details => Draft {
                text: reply.text,
                citations: Vec::new(),
                actions: reply.actions,
                confidence: Some(if reply.handoff.is_some() { 0.0 } else { 1.0 }),
                handoff: reply.handoff,
            },
            ask => {
                let hits = retrieve(state, message, lang, &recent, early_search, timings).await;
                let threshold = state.settings.chat.confidence_threshold;
                extractive_draft(hits, ask, threshold, lang)
            }
        },
    };
    let mut draft = draft;
    if draft.handoff.is_none() {
        let settings = &state.settings;
        draft.handoff = triggers::after_answer(
            draft.confidence,
            settings.chat.confidence_threshold,
            settings.handoff.on_low_confidence,
            settings.handoff.failed_turns,
            earlier,
        );
        if draft.handoff.is_some() {
            draft.text = handing_off(&draft.text, phrases);
        }
    }
    finish(state, conversation, message, draft, tx, timings).await
}

/// The reply without a model from the help center: its best passage, or "not found". After
/// an account question asked without details (`ask`), which may be a general one ("how long
/// until I see my refund?"): what the help center says, when a passage has two of the
/// question's words or more ("where is my order?" has one), then what a lookup needs. (A
/// question in another language is searched without its function words: "Où est ma
/// commande ?" has one word, "commande".)
fn extractive_draft(
    hits: Vec<Hit>,
    ask: Option<account::AccountReply>,
    threshold: f32,
    lang: Lang,
) -> Draft {
    let phrases = lang.phrases();
    let Some(ask) = ask else {
        let found = extractive::reply(&hits, threshold, phrases);
        return Draft {
            text: found.text,
            citations: found.citations,
            actions: Vec::new(),
            confidence: Some(confidence::score(found.evidence, ModelSignal::None)),
            handoff: None,
        };
    };
    let telling: Vec<Hit> = hits.into_iter().filter(|hit| hit.found >= 2).collect();
    let found = extractive::reply(&telling, threshold, phrases);
    Draft {
        text: if found.citations.is_empty() {
            ask.text
        } else {
            format!("{}\n\n{}", found.text, ask.text)
        },
        citations: found.citations,
        actions: ask.actions,
        confidence: Some(1.0),
        handoff: ask.handoff,
    }
}

/// A reply handed off after it was written: its offer of a person becomes the news that one
/// is on the way.
fn handing_off(text: &str, phrases: &Phrases) -> String {
    let kept = triggers::offer_in(text)
        .and_then(|offer| text.strip_suffix(offer))
        .unwrap_or(text)
        .trim_end();
    format!("{kept}\n\n{}", phrases.handed_off)
}

/// Stores and sends the reply, then opens the handoff it calls for.
async fn finish(
    state: &Arc<AppState>,
    conversation: &Conversation,
    message: &Message,
    draft: Draft,
    tx: &mpsc::UnboundedSender<TurnEvent>,
    timings: &mut Timings,
) -> Result<(), StoreError> {
    let confidence = draft.confidence;
    let (reply, took) = timed(state.store.append_reply(
        &conversation.id,
        NewMessage {
            role: Role::Assistant,
            text: draft.text,
            citations: draft.citations,
            actions: draft.actions,
            confidence: draft.confidence,
            author: None,
            reply_to: Some(message.id.clone()),
        },
    ))
    .await;
    record(state, Step::Reply, &mut timings.reply, took);
    let Some(reply) = reply? else {
        // People took the conversation over while the reply was being written: they answer
        // it now, and the message goes to them as one sent in human mode does.
        tracing::info!(conversation = %conversation.id, "reply dropped: people answer now");
        let reason = draft.handoff.unwrap_or(HandoffReason::Policy);
        return to_people(state, conversation, message, reason, tx).await;
    };
    state.metrics.reply(confidence);
    state.events.publish_message(&reply, To::Conversation);
    let _ = tx.send(TurnEvent::Reply(reply));
    if let Some(reason) = draft.handoff {
        let (handoff, took) = timed(handoff::open(
            state,
            conversation,
            reason,
            Some(&message.id),
        ))
        .await;
        let (handoff, _) = handoff?;
        timings.handoff = took;
        let _ = tx.send(TurnEvent::Handoff(handoff));
    }
    Ok(())
}

/// A customer's message that people answer (human mode, a human-only channel, or a takeover
/// while the reply was written): to the agents, and into the queue, so a person sees it. With
/// no handoff open, one is opened for `reason` (an agent only switched the mode, or the
/// channel went human-only); one waiting has its built-in summary brought up to date.
async fn to_people(
    state: &Arc<AppState>,
    conversation: &Conversation,
    message: &Message,
    reason: HandoffReason,
    tx: &mpsc::UnboundedSender<TurnEvent>,
) -> Result<(), StoreError> {
    state.events.publish_message(message, To::Agents);
    let (handoff, opened) = handoff::open(state, conversation, reason, Some(&message.id)).await?;
    if opened {
        let _ = tx.send(TurnEvent::Handoff(handoff));
    } else if let Err(error) =
        handoff::refresh_summary(state, conversation, &handoff, message).await
    {
        // The message is stored and the agents told: an older summary is no failure.
        tracing::warn!(%error, handoff = %handoff.id, "handoff summary not refreshed");
    }
    Ok(())
}

/// The language a message is answered in: its own, else the customer's latest earlier one
/// (of `earlier`), else the conversation's locale's (see [`Lang::of`]).
fn reply_lang(conversation: &Conversation, text: &str, earlier: &[Message]) -> Lang {
    let asked_before = earlier
        .iter()
        .rev()
        .filter(|m| m.role == Role::Customer)
        .map(|m| m.text.as_str());
    Lang::of(conversation.locale.as_deref(), text, asked_before)
}

/// A help-center search for `question` in `lang`, in the context of the messages before it,
/// started on the blocking pool.
fn start_search(state: &AppState, question: &str, lang: Lang, earlier: &[Message]) -> Searching {
    let mut earlier = earlier;
    // The read alongside the store may already see the question itself.
    if let [before @ .., last] = earlier
        && last.role == Role::Customer
        && last.text == question
    {
        earlier = before;
    }
    let context = retrieval::context(
        earlier
            .iter()
            .filter(|m| m.role != Role::System)
            .map(|m| m.text.as_str()),
    );
    state.retrieval.start_search(
        question.to_owned(),
        Some(lang),
        context,
        state.settings.chat.passages,
    )
}

/// The passages of the search started early (or of a new one), recorded in the timings and
/// metrics. A failing index degrades to none (the reply then says honestly that the help
/// center has no answer).
async fn retrieve(
    state: &AppState,
    message: &Message,
    lang: Lang,
    earlier: &[Message],
    early: Option<Searching>,
    timings: &mut Timings,
) -> Vec<Hit> {
    // The search started alongside the store is None only where the turn ends before it
    // needs passages (human mode, a failed read); should that change, it searches here.
    let search = early.unwrap_or_else(|| start_search(state, &message.text, lang, earlier));
    match search.await {
        Ok((result, took)) => {
            record(state, Step::Retrieve, &mut timings.retrieve, took);
            result.unwrap_or_else(|error| {
                tracing::warn!(%error, "retrieval failed; answering without passages");
                Vec::new()
            })
        }
        // A search that panicked has no time to record.
        Err(error) => {
            tracing::warn!(%error, "search task failed; answering without passages");
            Vec::new()
        }
    }
}

/// How long a step of this turn took: into its `Server-Timing` and its metrics histogram.
fn record(state: &AppState, step: Step, timing: &mut Duration, took: Duration) {
    *timing = took;
    state.metrics.observe(step, took);
}

/// Earlier messages the handoff triggers look at (repeats, failed turns).
const TRIGGER_WINDOW: usize = 12;

/// The last `n` of `messages` (oldest first).
pub(super) fn last(messages: &[Message], n: usize) -> &[Message] {
    &messages[messages.len().saturating_sub(n)..]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A turn that fails to store, or panics, ends with an error event, never with silence.
    #[tokio::test]
    async fn a_turn_that_fails_or_panics_ends_with_an_error() {
        assert!(ended(async { Ok(()) }, "conv").await.is_none());
        let failed = ended(
            async { Err(StoreError::Db(sqlx::Error::PoolClosed)) },
            "conv",
        )
        .await;
        assert!(matches!(
            failed,
            Some(TurnEvent::Error {
                code: "store_unavailable",
                ..
            })
        ));
        let panicked = ended(async { panic!("a bug") }, "conv").await;
        assert!(matches!(
            panicked,
            Some(TurnEvent::Error { code: INTERNAL, .. })
        ));
    }

    /// What the read alongside the store returns when messages 1..=`latest` are committed:
    /// the last `window + 1` of them, oldest first.
    fn read(latest: i64, window: usize) -> Vec<Message> {
        let from = (latest - window as i64).max(1);
        (from..=latest)
            .map(|seq| Message::for_test(seq, Role::Customer, "hi"))
            .collect()
    }

    fn seqs(messages: &[Message]) -> Vec<i64> {
        messages.iter().map(|m| m.seq).collect()
    }

    /// Read before the store (latest = seq - 1) or after it (latest = seq): the history is
    /// the `window` messages before this one, as a read after the store would give.
    #[test]
    fn a_read_before_or_after_the_store_is_the_history() {
        for window in [1, 3, 12] {
            for seq in 1..=20_i64 {
                let wanted: Vec<i64> = ((seq - window as i64).max(1)..seq).collect();
                for latest in [seq - 1, seq] {
                    let recent = before(read(latest, window), seq, window);
                    assert_eq!(
                        recent.as_deref().map(seqs),
                        Some(wanted.clone()),
                        "seq {seq}, window {window}, latest {latest}"
                    );
                }
            }
        }
    }

    /// A message numbered below this one but committed after the read began is missing:
    /// the turn must read again.
    #[test]
    fn a_read_missing_an_earlier_message_is_redone() {
        for window in [1, 3, 12] {
            for seq in 2..=20_i64 {
                for latest in 0..seq - 1 {
                    assert!(
                        before(read(latest, window), seq, window).is_none(),
                        "seq {seq}, window {window}, latest {latest}"
                    );
                }
            }
        }
    }

    /// A read that already saw a later message holds one earlier message fewer: enough only
    /// while the conversation is shorter than the window.
    #[test]
    fn a_read_that_saw_a_later_message_serves_only_a_short_history() {
        for window in [1, 3, 12] {
            for seq in 1..=20_i64 {
                let recent = before(read(seq + 1, window), seq, window);
                assert_eq!(
                    recent.is_some(),
                    seq <= window as i64,
                    "seq {seq}, window {window}"
                );
            }
        }
    }
}
