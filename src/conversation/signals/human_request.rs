//! Whether a message asks for a person: words naming one, governed by a request; see the
//! parent module for the rules.

use super::fold;

/// One word of a message, with where it sits.
#[derive(Debug, Clone)]
struct Token {
    word: String,
    /// Index of the clause, split at any punctuation (commas included).
    soft: usize,
    /// Index of the sentence, split at `.`, `!`, `?`, `;`, `:` and line breaks.
    hard: usize,
    /// Directly followed by a hyphen and another word: a modifier, as in "human-readable".
    hyphen_after: bool,
}

/// Splits `text` into tokens, corrects close misspellings of key words and merges multi-word
/// names such as "customer service" into one token.
fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = fold(&super::without_addresses(text)).chars().collect();
    let mut raw: Vec<Token> = Vec::new();
    let (mut soft, mut hard) = (0, 0);
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_alphanumeric() {
            current.push(c);
            continue;
        }
        if !current.is_empty() {
            let hyphen_after =
                c == '-' && chars.get(i + 1).is_some_and(|next| next.is_alphanumeric());
            raw.push(Token {
                word: std::mem::take(&mut current),
                soft,
                hard,
                hyphen_after,
            });
        }
        match c {
            '.' | '!' | '?' | ';' | ':' | '\n' | '\r' => {
                soft += 1;
                hard += 1;
            }
            ',' | '(' | ')' | '"' | '¿' | '¡' | '–' | '—' | '«' | '»' | '/' => soft += 1,
            _ => {}
        }
    }
    if !current.is_empty() {
        raw.push(Token {
            word: current,
            soft,
            hard,
            hyphen_after: false,
        });
    }
    for token in &mut raw {
        if let Some(fixed) = correct_spelling(&token.word) {
            token.word = fixed.to_owned();
        }
    }
    merge_phrases(&raw)
}

/// Multi-word names of a support team, merged into one token so they act as one noun.
const PHRASES: &[(&[&str], &str)] = &[
    (&["customer", "service"], "customer service"),
    (&["customer", "services"], "customer service"),
    (&["customer", "support"], "customer service"),
    (&["customer", "care"], "customer service"),
    (&["support", "team"], "customer service"),
    (&["support", "staff"], "customer service"),
    (&["service", "team"], "customer service"),
    (&["help", "desk"], "customer service"),
    (&["human", "being"], "human"),
    (&["atencion", "al", "cliente"], "customer service"),
    (&["servicio", "al", "cliente"], "customer service"),
    (&["service", "client"], "customer service"),
    (&["service", "clients"], "customer service"),
    (&["service", "clientele"], "customer service"),
    (&["service", "apres", "vente"], "customer service"),
    (&["atendimento", "humano"], "human"),
    (&["atendimento", "ao", "cliente"], "customer service"),
    (&["suporte", "humano"], "human"),
];

fn merge_phrases(tokens: &[Token]) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let found = PHRASES.iter().find(|(parts, _)| {
            tokens.get(i..i + parts.len()).is_some_and(|window| {
                window
                    .iter()
                    .zip(parts.iter())
                    .all(|(t, p)| t.word == *p && t.soft == tokens[i].soft)
            })
        });
        match found {
            Some((parts, merged)) => {
                let last_hyphen = tokens[i + parts.len() - 1].hyphen_after;
                out.push(Token {
                    word: (*merged).to_owned(),
                    soft: tokens[i].soft,
                    hard: tokens[i].hard,
                    hyphen_after: last_hyphen,
                });
                i += parts.len();
            }
            None => {
                out.push(tokens[i].clone());
                i += 1;
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Spelling correction
// ---------------------------------------------------------------------------------------------

/// Key words whose close misspellings are corrected ("tlak" → "talk").
const SPELLING_TARGETS: &[&str] = &[
    "talk",
    "speak",
    "human",
    "person",
    "people",
    "agent",
    "representative",
    "operator",
    "someone",
    "somebody",
    "supervisor",
    "assistant",
    "customer",
    "talking",
    "speaking",
    "chatting",
    "contacting",
    "assistance",
    "with",
    "connect",
    "transfer",
    "hablar",
    "persona",
    "humano",
    "agente",
    "representante",
    "parler",
    "humain",
    "conseiller",
    "personne",
    "mitarbeiter",
    "menschen",
    "sprechen",
    "falar",
    "pessoa",
    "atendente",
];

/// Real words that sit one edit away from a key word and must not be "corrected".
const NOT_MISSPELLINGS: &[&str] = &[
    "personal",
    "personally",
    "personas",
    "persons",
    "falhar",
    "sprachen",
    "spent",
    "steak",
    "agenda",
    "humane",
    "conseille",
    "operate",
    "assistance",
    "assisting",
    "sneaking",
    "charting",
    "speaker",
];

/// Words the lexicon already knows, which are never "corrected" into another one.
fn is_known_word(w: &str) -> bool {
    is_person_noun(w)
        || verb_strength(w).is_some()
        || is_gap_word(w)
        || is_courtesy(w)
        || is_trailing_verb(w)
        || is_trailing_gap_word(w)
        || is_definite(w)
        || is_negation_bridge(w)
        || is_gerund(w)
        || is_help_word(w)
}

/// The key word `word` is a close misspelling of, if any. The first letter must match; words of
/// four letters only allow a swap of two neighbours, five to nine letters one edit, longer two.
fn correct_spelling(word: &str) -> Option<&'static str> {
    let len = word.chars().count();
    if len < 4 || is_known_word(word) || NOT_MISSPELLINGS.contains(&word) {
        return None;
    }
    let first = word.chars().next();
    SPELLING_TARGETS.iter().copied().find(|target| {
        if target.chars().next() != first {
            return false;
        }
        let target_len = target.chars().count();
        let allowed = if target_len >= 10 { 2 } else { 1 };
        if target_len <= 4 {
            return (len == target_len && is_single_swap(word, target))
                || is_doubled_letter(word, target);
        }
        edit_distance(word, target, allowed) <= allowed
    })
}

/// `a` is `b` with one letter typed twice ("talkk" for "talk").
fn is_doubled_letter(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    a.len() == b.len() + 1
        && (1..a.len()).any(|i| a[i] == a[i - 1] && a[..i] == b[..i] && a[i + 1..] == b[i..])
}

fn is_single_swap(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let diffs: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
    matches!(diffs.as_slice(), [i, j] if *j == i + 1 && a[*i] == b[*j] && a[*j] == b[*i])
}

/// Optimal-string-alignment distance (insertions, deletions, substitutions and swaps of
/// neighbours), giving up early with `limit + 1` when the lengths alone exceed `limit`.
fn edit_distance(a: &str, b: &str, limit: usize) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > limit {
        return limit + 1;
    }
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

// ---------------------------------------------------------------------------------------------
// Lexicon for asks_for_human
// ---------------------------------------------------------------------------------------------

/// Words (after folding) that name a person the customer could be handed to.
fn is_person_noun(w: &str) -> bool {
    matches!(
        w,
        // English
        "human" | "humans" | "person" | "people" | "agent" | "agents" | "representative"
            | "representatives" | "rep" | "reps" | "operator" | "operators" | "someone"
            | "somebody" | "anyone" | "anybody" | "manager" | "supervisor" | "staff"
            | "employee" | "advisor" | "adviser" | "customer service" | "helpdesk"
            | "assistant" | "assistants"
            // Spanish
            | "persona" | "humano" | "humana" | "agente" | "agentes" | "representante"
            | "operador" | "operadora" | "asesor" | "asesora" | "alguien" | "encargado"
            | "encargada" | "gerente" | "supervisora" | "empleado" | "empleada" | "ejecutivo"
            | "ejecutiva" | "asistente"
            // French
            | "humain" | "humaine" | "personne" | "conseiller" | "conseillere" | "operateur"
            | "operatrice" | "quelqu" | "responsable" | "representant" | "interlocuteur"
            | "sav"
            // German
            | "mensch" | "menschen" | "mitarbeiter" | "mitarbeiterin" | "mitarbeitenden"
            | "berater" | "beraterin" | "jemand" | "jemanden" | "jemandem" | "kundendienst"
            | "kundenservice" | "kundensupport" | "kundenbetreuung" | "kundenberater"
            | "vorgesetzten" | "sachbearbeiter" | "sachbearbeiterin"
            // Portuguese
            | "pessoa" | "atendente" | "atendentes" | "alguem" | "consultor" | "consultora"
            | "assistente"
            | "sac"
    )
}

/// Words right after a person noun that turn it into a modifier ("agent number").
fn is_compound_head(w: &str) -> bool {
    matches!(
        w,
        "resources"
            | "error"
            | "errors"
            | "rights"
            | "readable"
            | "portal"
            | "account"
            | "number"
            | "id"
            | "code"
            | "login"
            | "name"
            | "role"
            | "job"
            | "jobs"
            | "position"
            | "booking"
            | "fee"
            | "fees"
            | "license"
            | "licence"
            | "commission"
            | "program"
            | "programme"
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strength {
    /// Verbs of talking or transferring: a request whenever they govern a person.
    Strong,
    /// Verbs of wanting or getting: a request unless the sentence is a yes/no question.
    Weak,
}

/// Request verbs, before context checks.
fn verb_strength(w: &str) -> Option<Strength> {
    let strong = matches!(
        w,
        // English
        "talk" | "speak" | "chat" | "connect" | "transfer" | "put" | "escalate" | "reach"
            | "contact" | "hand" | "pass" | "switch" | "ask" | "asking" | "request"
            | "requesting" | "demand" | "direct" | "redirect"
            // Spanish
            | "hablar" | "habla" | "pasame" | "paseme" | "pasarme" | "pasar" | "pasa"
            | "pasen" | "pasenme" | "ponme" | "ponerme" | "comunicar" | "comunicarme"
            | "comunicame" | "comuniqueme" | "contactar" | "transferir" | "transfiere"
            | "transfiereme" | "conectar" | "conectame" | "escalar" | "atienda" | "atiendan"
            | "charlar" | "conversar" | "pido" | "pedir" | "exijo" | "llame" | "llamen"
            // French
            | "parler" | "passer" | "passez" | "mettez" | "mettre" | "relation" | "joindre"
            | "contacter" | "transferer" | "transferez" | "echanger" | "discuter"
            | "demande" | "demander"
            // German
            | "sprechen" | "reden" | "verbinden" | "verbindet" | "verbinde" | "durchstellen"
            | "weiterleiten" | "chatten" | "kontaktieren" | "erreichen"
            // Portuguese
            | "falar" | "passar" | "passa" | "passe" | "transfere" | "transfira" | "chamar"
            | "chama" | "contatar" | "atenda" | "atendam"
    );
    let weak = matches!(
        w,
        "want"
            | "wanna"
            | "need"
            | "get"
            | "give"
            | "gimme"
            | "prefer"
            | "require"
            | "like"
            | "quiero"
            | "quisiera"
            | "necesito"
            | "deseo"
            | "prefiero"
            | "veux"
            | "voudrais"
            | "souhaite"
            | "souhaiterais"
            | "aimerais"
            | "besoin"
            | "prefere"
            | "prefererais"
            | "will"
            | "mochte"
            | "moechte"
            | "mochten"
            | "brauche"
            | "brauchen"
            | "gerne"
            | "gern"
            | "quero"
            | "queria"
            | "gostaria"
            | "preciso"
            | "prefiro"
            | "desejo"
    );
    if strong {
        Some(Strength::Strong)
    } else if weak {
        Some(Strength::Weak)
    } else {
        None
    }
}

/// English request verbs: a preceding "a"/"an" makes them nouns ("a contact person").
fn is_english_verb(w: &str) -> bool {
    matches!(
        w,
        "talk"
            | "speak"
            | "chat"
            | "connect"
            | "transfer"
            | "contact"
            | "reach"
            | "request"
            | "demand"
            | "direct"
            | "redirect"
            | "switch"
            | "pass"
            | "hand"
            | "need"
            | "want"
            | "like"
    )
}

/// "-ing" forms of talk verbs. They only ask for someone after a word of help ("I need help
/// talking to an agent") or when they open a sentence that is nothing else ("talking with
/// agent"), never in "am I talking to a person?" or "I was talking to an agent".
fn is_gerund(w: &str) -> bool {
    matches!(
        w,
        "talking" | "speaking" | "chatting" | "contacting" | "reaching" | "connecting"
    )
}

/// Nouns and verbs of help that introduce a gerund or "from" ("assistance from a person").
fn is_help_word(w: &str) -> bool {
    matches!(
        w,
        "help" | "assistance" | "assist" | "hlp" | "hep" | "uhelp" | "helpme"
    )
}

fn is_escalation_verb(w: &str) -> bool {
    matches!(w, "escalate" | "escalar" | "transfer")
}

/// Function words allowed between a request verb and the person it asks for.
fn is_gap_word(w: &str) -> bool {
    matches!(
        w,
        // English
        "to" | "with" | "me" | "us" | "a" | "an" | "the" | "some" | "any" | "one" | "of"
            | "your" | "you" | "real" | "live" | "actual" | "actually" | "proper" | "genuine"
            | "another" | "other" | "different" | "through" | "over" | "for" | "directly"
            | "just" | "please" | "now" | "right" | "support" | "sales" | "technical"
            | "senior" | "out" | "2" | "w" | "wth" | "ur" | "ya"
            // Intensifiers ("a bloody human agent")
            | "fucking" | "fuckin" | "fcking" | "fking" | "damn" | "goddamn" | "bloody"
            | "freaking" | "frigging" | "effing"
            // Spanish
            | "con" | "al" | "un" | "una" | "el" | "la" | "algun" | "alguna" | "otro"
            | "otra" | "verdadero" | "verdadera" | "de" | "ser" | "su" | "tu" | "favor"
            // French
            | "au" | "aux" | "le" | "l" | "avec" | "moi" | "en" | "vrai" | "vraie"
            | "veritable" | "d" | "du" | "etre" | "autre" | "votre" | "directement"
            // German
            | "mit" | "einem" | "einen" | "einer" | "ein" | "eine" | "dem" | "den" | "zu"
            | "zum" | "sie" | "mich" | "uns" | "echten" | "echter" | "echte" | "richtigen"
            | "menschlichen" | "bitte" | "mal" | "jetzt" | "sofort" | "ihrem" | "ihren"
            | "anderen" | "direkt"
            // Portuguese
            | "com" | "um" | "uma" | "o" | "ao" | "os" | "as" | "do" | "da" | "para" | "pra"
            | "verdadeiro" | "verdadeira" | "atendimento" | "seu" | "sua" | "outro" | "outra"
    )
}

/// Extra words allowed between an escalation verb and the person ("escalate this to a human").
fn is_escalation_gap_word(w: &str) -> bool {
    matches!(
        w,
        "this" | "it" | "my" | "case" | "ticket" | "issue" | "request" | "caso" | "mi"
    )
}

/// Words that may make up the rest of a message that is only a request ("agent please").
fn is_courtesy(w: &str) -> bool {
    matches!(
        w,
        // English
        "please" | "pls" | "plz" | "now" | "asap" | "immediately" | "real" | "live"
            | "actual" | "genuine" | "a" | "an" | "the" | "some" | "another" | "one" | "just"
            | "hi" | "hello" | "hey" | "ok" | "okay" | "thanks" | "thank" | "you" | "right"
            | "away" | "yes" | "fucking" | "damn" | "goddamn" | "bloody" | "freaking"
            // Spanish
            | "por" | "favor" | "porfa" | "porfavor" | "un" | "una" | "ya" | "ahora" | "hola"
            | "de" | "verdad" | "otro" | "otra" | "ser" | "gracias" | "si"
            // French
            | "une" | "s" | "il" | "vous" | "plait" | "svp" | "stp" | "maintenant"
            | "bonjour" | "vrai" | "vraie" | "merci" | "etre" | "oui" | "tout" | "suite"
            // German
            | "bitte" | "einen" | "ein" | "eine" | "einem" | "echten" | "echter" | "echte"
            | "jetzt" | "sofort" | "hallo" | "mal" | "danke" | "ja" | "richtigen"
            // Portuguese
            | "um" | "uma" | "agora" | "ola" | "oi" | "verdade" | "pfv" | "pf" | "obrigado"
            | "obrigada" | "sim"
    )
}

/// Talk or call verbs that may come *after* the person: German verb-final order and relative
/// clauses ("mit einem Menschen sprechen", "someone I can talk to", "have an agent call me").
fn is_trailing_verb(w: &str) -> bool {
    matches!(
        w,
        "talk"
            | "speak"
            | "chat"
            | "call"
            | "contact"
            | "hablar"
            | "llame"
            | "parler"
            | "rappelle"
            | "appelle"
            | "sprechen"
            | "reden"
            | "verbunden"
            | "verbinden"
            | "anrufen"
            | "zuruckrufen"
            | "zurueckrufen"
            | "falar"
            | "conversar"
            | "ligue"
            | "liguem"
    )
}

/// Words allowed between a person and a trailing talk verb.
fn is_trailing_gap_word(w: &str) -> bool {
    matches!(
        w,
        "i" | "can"
            | "could"
            | "may"
            | "to"
            | "who"
            | "that"
            | "we"
            | "please"
            | "mit"
            | "dem"
            | "der"
            | "ich"
            | "kann"
            | "bitte"
            | "mal"
            | "kurz"
            | "gerne"
            | "jetzt"
            | "sofort"
            | "soll"
            | "mich"
            | "con"
            | "quien"
            | "que"
            | "pueda"
            | "puedo"
            | "yo"
            | "me"
            | "a"
            | "qui"
            | "je"
            | "puisse"
            | "peux"
            | "com"
            | "quem"
            | "posso"
            | "possa"
            | "eu"
    )
}

/// Determiners and possessives: before a verb they make it a noun ("the chat agent"), before a
/// person they make it a known individual rather than someone to be handed to.
fn is_definite(w: &str) -> bool {
    matches!(
        w,
        "the"
            | "this"
            | "that"
            | "my"
            | "your"
            | "our"
            | "his"
            | "her"
            | "their"
            | "el"
            | "le"
            | "der"
            | "die"
            | "das"
            | "mi"
            | "mon"
            | "ma"
            | "mein"
            | "meine"
            | "meu"
            | "minha"
    )
}

/// Sentence openers of yes/no questions, which turn "need"/"get" into questions about a person
/// ("do I need a person to sign?").
fn is_question_opener(w: &str) -> bool {
    matches!(
        w,
        "do" | "does"
            | "did"
            | "is"
            | "are"
            | "was"
            | "were"
            | "will"
            | "should"
            | "must"
            | "shall"
    )
}

/// Words that may stand between a negation and the verb it negates ("don't *really want to*").
fn is_negation_bridge(w: &str) -> bool {
    matches!(
        w,
        "to" | "want"
            | "wanna"
            | "need"
            | "really"
            | "even"
            | "i"
            | "d"
            | "would"
            | "like"
            | "je"
            | "ne"
            | "veux"
            | "voudrais"
            | "quiero"
            | "quisiera"
            | "necesito"
            | "quero"
            | "queria"
            | "preciso"
            | "gostaria"
            | "de"
            | "ich"
            | "will"
            | "mochte"
            | "moechte"
            | "do"
            | "me"
    )
}

// ---------------------------------------------------------------------------------------------
// asks_for_human
// ---------------------------------------------------------------------------------------------

/// The customer explicitly asks for a person (agent, human, representative, someone real...).
///
/// Works for English, Spanish, French, German and Portuguese, ignoring case and accents and
/// tolerating small misspellings of the key words. Messages that merely mention a person
/// ("the delivery person left it at the door") are not requests.
#[must_use]
pub fn asks_for_human(text: &str) -> bool {
    let tokens = tokenize(text);
    if is_bare_request(&tokens) {
        return true;
    }
    (0..tokens.len()).any(|n| {
        is_candidate_person(&tokens, n)
            && (governed_by_request_verb(&tokens, n)
                || followed_by_talk_verb(&tokens, n)
                || asks_whether_one_is_there(&tokens, n))
    })
}

/// Whether every word of `text` belongs to asking for a person or refusing the bot (request
/// verbs, person nouns, courtesies, function words): "can I talk to a real person please?",
/// "I don't want a bot". Any other word says what the customer needs ("my order arrived
/// broken, I want a person").
pub(super) fn nothing_but_request_words(text: &str) -> bool {
    tokenize(text).iter().all(|t| {
        let w = t.word.as_str();
        is_person_noun(w)
            || is_courtesy(w)
            || is_gap_word(w)
            || verb_strength(w).is_some()
            || is_gerund(w)
            || is_help_word(w)
            || is_escalation_verb(w)
            || is_escalation_gap_word(w)
            || is_trailing_verb(w)
            || is_trailing_gap_word(w)
            || is_question_opener(w)
            || is_negation_bridge(w)
            || ASKING_WORDS.contains(&w)
    })
}

/// Words of asking, and of refusing a bot, that the request lexicon leaves out ("don't" is
/// "don" and "t" here).
const ASKING_WORDS: &[&str] = &[
    "i",
    "im",
    "m",
    "id",
    "ll",
    "can",
    "could",
    "would",
    "let",
    "there",
    "here",
    "it",
    "possible",
    "available",
    "from",
    "and",
    "or",
    "dont",
    "don",
    "t",
    "not",
    "no",
    "more",
    "anymore",
    "stop",
    "hate",
    "sick",
    "tired",
    "enough",
    "bot",
    "bots",
    "chatbot",
    "chatbots",
    "robot",
    "robots",
    "machine",
    "computer",
    "ai",
];

/// A person noun that is not a modifier ("human-readable", "agent number") or a possessive
/// ("agent's").
fn is_candidate_person(tokens: &[Token], n: usize) -> bool {
    let token = &tokens[n];
    if !is_person_noun(&token.word) || token.hyphen_after {
        return false;
    }
    let next = tokens.get(n + 1).filter(|t| t.soft == token.soft);
    match next {
        Some(t) if is_compound_head(&t.word) => false,
        // "agent's", but not French "humain s'il vous plaît".
        Some(t) if t.word == "s" => tokens
            .get(n + 2)
            .is_some_and(|after| after.word == "il" || after.word == "ils"),
        _ => true,
    }
}

/// A sentence made only of person nouns and courtesies: "agent please", "un humain s'il vous
/// plaît", "real persn please".
fn is_bare_request(tokens: &[Token]) -> bool {
    let Some(last) = tokens.last() else {
        return false;
    };
    (0..=last.hard).any(|sentence| {
        let indices: Vec<usize> = (0..tokens.len())
            .filter(|&i| tokens[i].hard == sentence)
            .collect();
        let mut persons = 0;
        for &i in &indices {
            if is_candidate_person(tokens, i) {
                persons += 1;
            } else if !is_courtesy(&tokens[i].word) {
                return false;
            }
        }
        persons > 0
    })
}

/// The verb at `j` (if any) with its context taken into account.
fn request_verb_at(tokens: &[Token], j: usize) -> Option<Strength> {
    let word = tokens[j].word.as_str();
    if is_gerund(word) {
        return helped_gerund(tokens, j).map(|_| Strength::Strong);
    }
    let strength = verb_strength(word)?;
    let prev = j
        .checked_sub(1)
        .map(|p| &tokens[p])
        .filter(|t| t.soft == tokens[j].soft);
    let next = tokens.get(j + 1);
    match word {
        // "I'd like" / "would like", not "I like the person who...".
        "like" if !prev.is_some_and(|p| p.word == "d" || p.word == "would") => return None,
        // German "ich will einen Menschen", not English "will a person review it?".
        "will"
            if !next.is_some_and(|t| {
                matches!(
                    t.word.as_str(),
                    "mit" | "einen" | "einem" | "ein" | "eine" | "einer" | "jemanden" | "echten"
                )
            }) =>
        {
            return None;
        }
        _ => {}
    }
    if let Some(p) = prev {
        // "the chat agent", "a contact person": the verb is a noun here.
        if is_definite(&p.word) || ((p.word == "a" || p.word == "an") && is_english_verb(word)) {
            return None;
        }
    }
    Some(strength)
}

/// The help word in front of the gerund at `j` ("help talking", "assistance speaking",
/// "help me chatting"), if any.
fn helped_gerund(tokens: &[Token], j: usize) -> Option<usize> {
    let clause = tokens[j].soft;
    let mut k = j;
    for _ in 0..2 {
        k = k.checked_sub(1)?;
        let token = &tokens[k];
        if token.soft != clause {
            return None;
        }
        if is_help_word(&token.word) {
            return Some(k);
        }
        if !matches!(token.word.as_str(), "me" | "us" | "with" | "in") {
            return None;
        }
    }
    None
}

/// A sentence that is only a gerund, function words, the person at `n` and courtesies:
/// "talking with agent", "speaking to a human please".
fn is_bare_gerund_request(tokens: &[Token], j: usize, n: usize) -> bool {
    let sentence = tokens[j].hard;
    let starts_sentence = j.checked_sub(1).is_none_or(|p| tokens[p].hard != sentence);
    starts_sentence
        && is_gerund(&tokens[j].word)
        && tokens[j + 1..n].iter().all(|t| is_gap_word(&t.word))
        && tokens[n + 1..]
            .iter()
            .take_while(|t| t.hard == sentence)
            .all(|t| is_courtesy(&t.word) || is_person_noun(&t.word))
}

/// Whether a negation governs the verb at `j` ("I don't want to talk", "no quiero hablar").
fn is_negated(tokens: &[Token], j: usize) -> bool {
    let clause = tokens[j].soft;
    let mut k = j;
    for _ in 0..6 {
        let Some(prev) = k.checked_sub(1) else {
            return false;
        };
        k = prev;
        if tokens[k].soft != clause {
            return false;
        }
        if is_negation(tokens, k) {
            return true;
        }
        if !is_negation_bridge(&tokens[k].word) {
            return false;
        }
    }
    false
}

fn is_negation(tokens: &[Token], k: usize) -> bool {
    match tokens[k].word.as_str() {
        "not" | "never" | "dont" | "doesnt" | "didnt" | "wont" | "nunca" | "jamais" | "pas"
        | "nicht" | "kein" | "keine" | "keinen" | "keinem" | "nao" | "nem" => true,
        // "don't", "doesn't", "didn't", "won't" (but not "can't": "why can't I talk to...").
        "t" => k
            .checked_sub(1)
            .is_some_and(|p| matches!(tokens[p].word.as_str(), "don" | "doesn" | "didn" | "won")),
        // Spanish/Portuguese "no quiero...", but not English "no, I want an agent".
        "no" => tokens.get(k + 1).is_none_or(|next| next.word != "i"),
        _ => false,
    }
}

/// "talk to a human", "pásame con un agente", "ich möchte einen Mitarbeiter".
fn governed_by_request_verb(tokens: &[Token], n: usize) -> bool {
    let clause = tokens[n].soft;
    let mut escalation_gap = false;
    let mut j = n;
    for _ in 0..6 {
        let Some(prev) = j.checked_sub(1) else {
            return false;
        };
        j = prev;
        let token = &tokens[j];
        if token.soft != clause {
            return false;
        }
        if is_bare_gerund_request(tokens, j, n) {
            return true;
        }
        if let Some(help) = helped_gerund(tokens, j).filter(|_| is_gerund(&token.word)) {
            return !is_negated(tokens, help);
        }
        // "I want assistance from a person": step over "help from" to the verb.
        if token.word == "from" {
            match j.checked_sub(1) {
                Some(h) if tokens[h].soft == clause && is_help_word(&tokens[h].word) => {
                    j = h;
                    continue;
                }
                _ => return false,
            }
        }
        if let Some(strength) = request_verb_at(tokens, j) {
            if escalation_gap && !is_escalation_verb(&token.word) {
                return false;
            }
            if is_negated(tokens, j) || asks_for_the_hours(tokens, j) {
                return false;
            }
            if strength == Strength::Weak {
                let opener = tokens.iter().find(|t| t.soft == clause);
                if opener.is_some_and(|t| is_question_opener(&t.word)) {
                    return false;
                }
                if wanted_for_a_task(tokens, n) {
                    return false;
                }
            }
            return true;
        }
        if is_gap_word(&token.word) {
            continue;
        }
        if is_escalation_gap_word(&token.word) {
            escalation_gap = true;
            continue;
        }
        return false;
    }
    false
}

/// "what hours can I call customer service?", "at what time can I reach an agent?": the
/// sentence asks when people are there, before the verb at `j`; the help center answers
/// that.
fn asks_for_the_hours(tokens: &[Token], j: usize) -> bool {
    let sentence = tokens[j].hard;
    let before: Vec<&str> = tokens[..j]
        .iter()
        .filter(|t| t.hard == sentence)
        .map(|t| t.word.as_str())
        .collect();
    before.iter().any(|w| {
        matches!(
            *w,
            "hours" | "horario" | "horarios" | "horaires" | "uhrzeit" | "horas"
        )
    }) || before.windows(2).any(|pair| {
        matches!(
            pair,
            ["what" | "which", "time" | "times"]
                | ["que", "hora"]
                | ["quelle", "heure"]
                | ["welche", "uhrzeit"]
        )
    })
}

/// "I want a person to sign for it": someone wanted for a chore, not to take over the chat.
/// Support tasks ("someone to help me", "an agent to call me back") still count as requests.
fn wanted_for_a_task(tokens: &[Token], n: usize) -> bool {
    let clause = tokens[n].soft;
    let mut after = tokens.iter().skip(n + 1).take_while(|t| t.soft == clause);
    match (after.next(), after.next()) {
        (Some(to), Some(task)) if to.word == "to" => !matches!(
            task.word.as_str(),
            "help"
                | "assist"
                | "call"
                | "contact"
                | "talk"
                | "speak"
                | "chat"
                | "look"
                | "check"
                | "handle"
                | "fix"
                | "sort"
                | "explain"
                | "answer"
                | "deal"
                | "review"
                | "respond"
                | "reply"
                | "take"
        ),
        _ => false,
    }
}

/// "is there a real person there?", "¿hay alguien disponible?", "gibt es einen Menschen?":
/// an existential question about a person that ends the sentence (or only adds "there",
/// "available"...). "Is there a human reviewing my return?" goes on, so it does not count.
fn asks_whether_one_is_there(tokens: &[Token], n: usize) -> bool {
    let sentence = tokens[n].hard;
    let start = tokens.iter().position(|t| t.hard == sentence).unwrap_or(n);
    let opener: Vec<&str> = tokens[start..n].iter().map(|t| t.word.as_str()).collect();
    let opener_len = match opener.as_slice() {
        ["is" | "are", "there", ..] | ["gibt", "es", ..] | ["y", "a", "t", "il", ..] => {
            if opener[0] == "y" { 4 } else { 2 }
        }
        ["hay" | "tem" | "ha", ..] => 1,
        _ => return false,
    };
    let gap_ok = opener[opener_len..].iter().all(|w| {
        matches!(
            *w,
            "a" | "an"
                | "any"
                | "some"
                | "real"
                | "live"
                | "actual"
                | "un"
                | "una"
                | "alguna"
                | "algun"
                | "une"
                | "einen"
                | "ein"
                | "eine"
                | "echten"
                | "um"
                | "uma"
                | "vrai"
        )
    });
    let rest_ok = tokens[n + 1..]
        .iter()
        .take_while(|t| t.hard == sentence)
        .all(|t| {
            matches!(
                t.word.as_str(),
                "there"
                    | "available"
                    | "here"
                    | "online"
                    | "now"
                    | "disponible"
                    | "disponivel"
                    | "da"
                    | "verfugbar"
                    | "erreichbar"
                    | "aqui"
                    | "ahi"
                    | "alli"
                    | "la"
                    | "ai"
            )
        });
    gap_ok && rest_ok
}

/// "mit einem Mitarbeiter sprechen", "is there someone I can talk to?", "have an agent call me".
fn followed_by_talk_verb(tokens: &[Token], n: usize) -> bool {
    let person = &tokens[n];
    if let Some(p) = n.checked_sub(1).map(|p| &tokens[p])
        && p.hard == person.hard
        && is_definite(&p.word)
    {
        return false;
    }
    let negated_before = (0..n).any(|k| tokens[k].soft == person.soft && is_negation(tokens, k));
    if negated_before {
        return false;
    }
    for token in tokens.iter().skip(n + 1).take(6) {
        if token.hard != person.hard {
            return false;
        }
        if is_trailing_verb(&token.word) {
            return true;
        }
        if !is_trailing_gap_word(&token.word) {
            return false;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failures(cases: &[&str], expected: bool) -> Vec<String> {
        cases
            .iter()
            .filter(|c| asks_for_human(c) != expected)
            .map(|c| (*c).to_owned())
            .collect()
    }

    const REQUESTS: &[&str] = &[
        // English
        "talk to a human",
        "agent please",
        "can I speak to a real person?",
        "I want a representative",
        "connect me with customer service",
        "I want to talk to an agent, what are your hours?",
        "human!",
        "get me a manager",
        "operator",
        "live agent",
        "agent",
        "human",
        "person please",
        "representative",
        "REPRESENTATIVE!!!",
        "Agent, please.",
        "I need to speak with someone",
        "transfer me to an agent",
        "put me through to a human",
        "let me talk to your supervisor",
        "I'd like to chat with a live person",
        "escalate this to a human",
        "is there a human I can talk to?",
        "can I get a real human on the line?",
        "give me a human",
        "I need a human",
        "why can't I talk to a person?",
        "please have someone call me back",
        "I am asking for a representative",
        "Where is my order? Agent!",
        "customer service please",
        "I want to talk to a human being",
        "can I speak to someone real",
        "is there a real person there?",
        "I want an agent to call me back",
        "no, I want an agent",
        // Misspellings
        "tlak to a humen",
        "speak to an agnet",
        "real persn please",
        "talk to a reprsentative",
        "connect me to custmer service",
        // Spanish
        "quiero hablar con una persona",
        "pásame con un agente",
        "hablar con un humano",
        "necesito hablar con alguien",
        "comunícame con un asesor",
        "un agente por favor",
        "¿hay alguna persona con quien pueda hablar?",
        "quiero que me atienda una persona de verdad",
        "HABLAR CON UN HUMANO YA",
        "¿hay alguien disponible?",
        // French
        "je veux parler à un conseiller",
        "un humain s'il vous plaît",
        "est-ce que je peux parler à quelqu'un ?",
        "passez-moi un conseiller svp",
        "je souhaite être mis en relation avec un conseiller",
        "j'ai besoin d'un vrai humain",
        "Je voudrais parler au service client",
        // German
        "ich möchte mit einem Mitarbeiter sprechen",
        "einen Menschen bitte",
        "Kann ich bitte mit einem echten Menschen sprechen?",
        "Verbinden Sie mich bitte mit einem Mitarbeiter",
        "ich brauche einen Menschen",
        "ich will mit jemandem reden",
        "ich hätte gerne einen Mitarbeiter",
        "Gibt es einen Menschen, mit dem ich sprechen kann?",
        "Ich moechte mit dem Kundendienst sprechen",
        "Gibt es einen Menschen?",
        // Portuguese
        "quero falar com um atendente",
        "falar com uma pessoa",
        "me passa para um atendente",
        "preciso de um atendente humano",
        "gostaria de falar com alguém",
        "atendimento humano, por favor",
        "tem alguém com quem eu possa falar?",
    ];

    const NON_REQUESTS: &[&str] = &[
        // Email addresses and links
        "someone.else@example.com",
        "human.resources@example.com NW-1044628",
        "see https://example.com/talk-to-a-person",
        // English
        "is a human reviewing my return?",
        "was this answer written by a person?",
        "my agent at the bank said I should ask",
        "the delivery person left it at the door",
        "I am a human",
        "how do I become a sales agent?",
        "do you have human-readable invoices?",
        "travel agent booking",
        "where is my order?",
        "I spoke to an agent yesterday and they fixed it",
        "the representative was very helpful last time",
        "what are your customer service hours?",
        "what hours can I call customer service?",
        "at what time can i reach customer support",
        "I need to check what hours I can contact customer assistance",
        "¿a qué hora puedo hablar con un agente?",
        "à quelle heure puis-je parler à un conseiller ?",
        "can you talk me through the refund process?",
        "please send the invoice to the person in accounting",
        "I need to update the contact person on my account",
        "does a person need to sign for the delivery?",
        "human error caused a double charge",
        "can you talk like a human?",
        "am I talking to a real person right now?",
        "I don't want to talk to a human, just answer me",
        "the chat agent was rude",
        "I want a refund",
        "how do I get the agent's phone number?",
        "are you a human or a bot?",
        "will a person review my claim?",
        "I'd like to manage my subscription",
        "no need for an agent, thanks",
        "I want a person to sign for it",
        "are there any humans working here?",
        "I'd rather not talk to a human",
        "please give the package to the person at reception",
        "I need an agent number",
        // Spanish
        "la persona que entregó el paquete fue amable",
        "¿dónde está mi pedido?",
        "el agente me dijo que esperara",
        "no quiero hablar con un agente",
        "¿estoy hablando con una persona?",
        "hablé con un agente ayer",
        // French
        "personne ne répond au téléphone",
        "le conseiller m'a dit d'attendre",
        "je voudrais parler de ma commande",
        "je ne veux pas parler à un humain",
        "est-ce que je parle à un robot ?",
        // German
        "der Mitarbeiter im Laden war nett",
        "Wo ist meine Bestellung?",
        "Ich habe gestern mit einem Mitarbeiter gesprochen",
        "Ich will nicht mit einem Menschen sprechen",
        "spreche ich mit einem Menschen?",
        "ich habe mit einer Person gesprochen",
        // Portuguese
        "a pessoa que entregou foi simpática",
        "onde está meu pedido?",
        "o atendente disse que ia resolver",
        "estou falando com uma pessoa?",
    ];

    #[test]
    fn explicit_requests_for_a_person_are_detected_in_five_languages() {
        assert!(REQUESTS.len() >= 40);
        assert_eq!(failures(REQUESTS, true), Vec::<String>::new());
    }

    #[test]
    fn mentions_of_humans_that_are_not_requests_are_ignored() {
        assert!(NON_REQUESTS.len() >= 25);
        assert_eq!(failures(NON_REQUESTS, false), Vec::<String>::new());
    }

    #[test]
    fn new_request_families_are_detected() {
        for text in [
            // "assistant" as the person asked for
            "I need to chat with an assistant",
            "how can I contact an assistant?",
            "is it possible to talk with an assistant?",
            // A word of help in front of a gerund
            "I need help talking to a live agent",
            "assistance speaking with an operator",
            "can you help me contacting an agent?",
            "you aren't helpful, I want help talking with someone",
            // Help or assistance *from* a person
            "I want assistance from a person",
            "I'd like some help from a human",
            // A sentence that is only a gerund and the person
            "talking with agent",
            "speaking to a real person please",
            // Direct/redirect and reach out
            "can you direct me to an operator",
            "I want to reach out to someone",
            // Swearing in between
            "I am trying to talk to a fucking assistant",
            "I need help speaking to a bloody live agent",
            // Casual and typo variants
            "talk 2 a human",
            "gimme a real person",
            "can I talkk to someone?",
            "chat wth somebody",
            "i need help speakign with an agent",
            "I want assistnace contacting a human agent",
            "I need help chatting wiht an operator",
            "i have to talk to an asistant",
            "I need to talk to someone",
            "could you connect me with an agent",
            "contact a human agent",
        ] {
            assert!(asks_for_human(text), "{text}");
        }
    }

    #[test]
    fn gerunds_and_assistants_that_are_not_requests_are_ignored() {
        for text in [
            "am I talking to a real person?",
            "I was talking to an agent yesterday",
            "talking to an agent was a waste of time",
            "I don't need help talking to an agent",
            "I got help from a person at the store",
            "can I talk to the virtual assistant?",
            "my assistant will send the documents",
            "I want an assistant to manage my calendar",
            "I need assistance with my order",
            "help me speaking of refunds",
            "I need help charting my expenses",
        ] {
            assert!(!asks_for_human(text), "{text}");
        }
    }

    #[test]
    fn requests_ignore_case_and_accents() {
        for text in [
            "PASAME CON UN AGENTE",
            "pasame con un agente",
            "Pásame con un agénte",
            "ICH MÖCHTE MIT EINEM MITARBEITER SPRECHEN",
            "ich mochte mit einem mitarbeiter sprechen",
            "Je Veux Parler A Un Conseiller",
            // Decomposed accents (e + combining acute).
            "pa\u{301}same con un agente",
        ] {
            assert!(asks_for_human(text), "{text}");
        }
    }

    #[test]
    fn empty_and_punctuation_only_messages_are_not_requests() {
        for text in ["", "   ", "?!", "...", "please", "hello?"] {
            assert!(!asks_for_human(text), "{text:?}");
        }
    }

    #[test]
    fn close_misspellings_are_corrected_but_real_words_are_not() {
        assert_eq!(correct_spelling("tlak"), Some("talk"));
        assert_eq!(correct_spelling("humen"), Some("human"));
        assert_eq!(correct_spelling("agnet"), Some("agent"));
        assert_eq!(correct_spelling("persn"), Some("person"));
        assert_eq!(correct_spelling("walk"), None);
        assert_eq!(correct_spelling("tall"), None);
        assert_eq!(correct_spelling("personal"), None);
        assert_eq!(correct_spelling("agency"), None);
        assert_eq!(correct_spelling("agent"), None);
    }
}
