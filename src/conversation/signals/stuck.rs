//! Stuck: the customer says the assistant is not helping ("that didn't help", "you didn't
//! answer my question", "this is the third time I'm asking"), or that they will not deal with a
//! bot at all. Whole phrases over the message's words (apostrophes dropped: "didn't" is
//! "didnt"), so "the code doesn't work" or "my agent at the bank" do not fire.

use super::{fold, split_words};

/// Phrases that say the assistant's answers do not help.
const NOT_HELPED: &[&str] = &[
    // English
    "didnt help",
    "doesnt help",
    "did not help",
    "does not help",
    "not helping",
    "no help",
    "not helpful",
    "not very helpful",
    "unhelpful",
    "doesnt answer my question",
    "didnt answer my question",
    "does not answer my question",
    "did not answer my question",
    "not answering my question",
    "doesnt answer the question",
    "didnt answer the question",
    "you didnt answer",
    "you havent answered",
    "not what i asked",
    "not what i was asking",
    "not my question",
    "you dont understand",
    "you didnt understand",
    "you do not understand",
    "youre not understanding",
    "third time",
    "3rd time",
    "fourth time",
    "for the second time",
    "i already asked",
    "i already told you",
    "i already said",
    "going in circles",
    "round in circles",
    "nobody helps",
    "no one helps",
    "noone helps",
    "nobody is helping",
    "no one is helping",
    "nobody can help",
    "no one can help",
    "youre useless",
    "you are useless",
    "this is useless",
    "thats useless",
    "useless bot",
    "stupid bot",
    "dumb bot",
    // Spanish
    "no me ayuda",
    "no me ayudas",
    "no me ha ayudado",
    "no me sirve",
    "no sirve de nada",
    "no responde a mi pregunta",
    "no respondes a mi pregunta",
    // French ("ne m'aide pas", "ça n'aide pas")
    "ne maide pas",
    "naide pas",
    "ne sert a rien",
    "pas utile",
    "ne repond pas a ma question",
    // German
    "hilft nicht",
    "hilft mir nicht",
    "hilft nichts",
    "nicht hilfreich",
    "bringt nichts",
    "beantwortet meine frage nicht",
    // Portuguese
    "nao ajuda",
    "nao ajudou",
    "nao me ajuda",
    "nao me ajudou",
    "nao serve",
    "nao responde a minha pergunta",
];

/// Words naming an automated assistant.
const BOTS: &[&str] = &["bot", "bots", "chatbot", "chatbots"];

/// Words that name one only when talking to it is the subject ("talk to a machine"; "I don't
/// want the robot vacuum" is about a product).
const TALKED_TO: &[&str] = &["robot", "robots", "machine", "computer", "ai"];
const TALK: &[&str] = &["talk", "talking", "speak", "speaking", "chat", "chatting"];

/// Words that refuse one.
const REFUSALS: &[&str] = &[
    "dont want",
    "do not want",
    "dont wanna",
    "not talking",
    "no more",
    "stop",
    "hate",
    "sick of",
    "tired of",
    "enough of",
    "dont like",
];

/// The message's words, apostrophes dropped, as " w1 w2 … " for whole-phrase look-ups.
fn padded(text: &str) -> String {
    let words = split_words(&fold(text).replace('\'', ""));
    format!(" {} ", words.join(" "))
}

fn has(padded: &str, phrase: &str) -> bool {
    padded.contains(&format!(" {phrase} "))
}

/// Whether the customer says the assistant is not helping them.
#[must_use]
pub fn not_helped(text: &str) -> bool {
    let words = padded(text);
    NOT_HELPED.iter().any(|phrase| has(&words, phrase))
}

/// Whether the customer refuses to deal with a bot ("I don't want to talk to a bot", "stop,
/// I hate bots"): a request for a person in other words.
#[must_use]
pub fn refuses_bot(text: &str) -> bool {
    let words = padded(text);
    let any = |list: &[&str]| list.iter().any(|w| has(&words, w));
    (any(BOTS) || (any(TALKED_TO) && any(TALK))) && any(REFUSALS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saying_the_answers_do_not_help_is_told_from_a_problem_with_the_product() {
        for stuck in [
            "that doesn't answer my question. how many days does a refund take?",
            "that didn't help",
            "still not working, this is not helpful",
            "You're useless",
            "this is the third time I'm asking, nobody helps me",
            "No, that's not what I asked",
            "esto no me ayuda",
            "ça ne m'aide pas",
            "Das hilft mir nicht",
            "não ajudou",
        ] {
            assert!(not_helped(stuck), "{stuck}");
        }
        for question in [
            "the discount code doesn't work",
            "my password reset is still not working",
            "does the helmet help with safety?",
            "can you help me with my invoice?",
            "is there a third size?",
        ] {
            assert!(!not_helped(question), "{question}");
        }
    }

    #[test]
    fn refusing_a_bot_is_told_from_a_mention_of_one() {
        for refuses in [
            "I don't want to talk to a bot",
            "i dont want to talk to a machine, i want my money",
            "stop, I hate bots",
        ] {
            assert!(refuses_bot(refuses), "{refuses}");
        }
        for mention in [
            "are you a bot?",
            "does the robot vacuum come with a dock?",
            "I want to return the machine",
            "I don't want the robot vacuum any more, how do I return it?",
        ] {
            assert!(!refuses_bot(mention), "{mention}");
        }
    }
}
