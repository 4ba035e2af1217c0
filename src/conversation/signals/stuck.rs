//! Stuck: the customer says the assistant is not helping ("that didn't help", "you didn't
//! answer my question", "this is the third time I'm asking"), or that they will not deal with a
//! bot at all. Whole phrases over the message's words (apostrophes dropped: "didn't" is
//! "didnt"), so "the code doesn't work" or "my agent at the bank" do not fire.

use super::plain_words;

/// Phrases that say the assistant's answers do not help. Each names the answer or the
/// assistant ("that didn't help", "you didn't answer"), so a product that "doesn't help", an
/// item that is "not what I asked for" or a size that "no me sirve" is a question, not this.
const NOT_HELPED: &[&str] = &[
    // English
    "that didnt help",
    "that doesnt help",
    "that did not help",
    "that does not help",
    "this didnt help",
    "this doesnt help",
    "this does not help",
    "you didnt help",
    "you are not helping",
    "youre not helping",
    "this is not helpful",
    "thats not helpful",
    "that is not helpful",
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
    "not what i was asking",
    "not my question",
    "you dont understand",
    "you didnt understand",
    "you do not understand",
    "youre not understanding",
    "third time asking",
    "third time im asking",
    "third time i am asking",
    "third time i ask",
    "3rd time asking",
    "3rd time im asking",
    "i already asked",
    "i already told you",
    "going in circles",
    "round in circles",
    "nobody helps",
    "no one helps",
    "noone helps",
    "nobody is helping",
    "no one is helping",
    "youre useless",
    "you are useless",
    "this is useless",
    "thats useless",
    "useless bot",
    "stupid bot",
    "dumb bot",
    // Spanish
    "esto no me ayuda",
    "eso no me ayuda",
    "no me estas ayudando",
    "no responde a mi pregunta",
    "no respondes a mi pregunta",
    "no has respondido",
    "no me has respondido",
    "no respondiste",
    "no me respondiste",
    "no has contestado",
    "eso no me ayudo",
    "esto no me ayudo",
    "eso no ayuda",
    "esto no ayuda",
    "no me has ayudado",
    "no me entiendes",
    "tercera vez que pregunto",
    "eres inutil",
    "no sirves para nada",
    // French ("ça ne m'aide pas", "ça n'aide pas")
    "ca ne maide pas",
    "cela ne maide pas",
    "vous ne maidez pas",
    "ca naide pas",
    "ne repond pas a ma question",
    "ca ne ma pas aide",
    "cela ne ma pas aide",
    "ca na pas aide",
    "pas repondu a ma question",
    "vous navez pas repondu",
    "tu nas pas repondu",
    "vous ne comprenez pas",
    "tu ne comprends pas",
    "troisieme fois que je demande",
    "troisieme fois que je pose",
    "vous etes nul",
    "vous etes nuls",
    "tu es nul",
    "vous etes inutile",
    "tu es inutile",
    // German
    "das hilft mir nicht",
    "das hilft nicht",
    "sie helfen mir nicht",
    "nicht hilfreich",
    "beantwortet meine frage nicht",
    "meine frage nicht beantwortet",
    "das hat nicht geholfen",
    "das hat mir nicht geholfen",
    "sie verstehen mich nicht",
    "du verstehst mich nicht",
    "zum dritten mal frage",
    "frage zum dritten mal",
    "du bist nutzlos",
    "sie sind nutzlos",
    // Portuguese
    "isso nao ajuda",
    "isso nao ajudou",
    "isso nao me ajuda",
    "isso nao me ajudou",
    "voce nao esta ajudando",
    "nao responde a minha pergunta",
    "nao respondeu minha pergunta",
    "nao respondeu a minha pergunta",
    "voce nao respondeu",
    "voce nao entende",
    "voce nao esta entendendo",
    "terceira vez que pergunto",
    "voce e inutil",
];

/// Whole messages that say it on their own ("No me ayudó."): with more words they may be
/// about a product ("la crema no me ayudó").
const NOT_HELPED_ALONE: &[&str] = &[
    "no me ayudo",
    "no ayudo",
    "no ayuda",
    "no sirvio",
    "pas utile",
    "hilft nicht",
    "nicht geholfen",
    "nao ajudou",
    "nao me ajudou",
];

/// Words naming an automated assistant.
const BOTS: &[&str] = &["bot", "bots", "chatbot", "chatbots"];

/// Words that name one only after a talk verb ("talk to a machine"; "I don't want the robot
/// vacuum" is about a product).
const TALKED_TO: &[&str] = &["robot", "robots", "machine", "computer", "ai"];
const TALK: &[&str] = &["talk", "talking", "speak", "speaking", "chat", "chatting"];

/// Words that refuse what follows them ("I don't want … a bot", "I hate bots").
const REFUSALS: &[&str] = &[
    "dont want",
    "do not want",
    "dont wanna",
    "not talking",
    "no more",
    "hate",
    "sick of",
    "tired of",
    "enough of",
    "dont like",
];

/// How far after a refusal its object may come ("don't want to talk to a bot": 5 words).
const REFUSAL_REACH: usize = 5;

/// The message's words, apostrophes dropped, as " w1 w2 … " for whole-phrase look-ups.
fn padded(text: &str) -> String {
    format!(" {} ", plain_words(text).join(" "))
}

fn has(padded: &str, phrase: &str) -> bool {
    padded.contains(&format!(" {phrase} "))
}

/// Whether the customer says the assistant is not helping them.
#[must_use]
pub fn not_helped(text: &str) -> bool {
    let words = padded(text);
    NOT_HELPED.iter().any(|phrase| has(&words, phrase)) || NOT_HELPED_ALONE.contains(&words.trim())
}

/// Whether the customer refuses to deal with a bot ("I don't want to talk to a bot", "I hate
/// bots"): a request for a person in other words. The bot must follow the refusal closely;
/// "stop bots buying up limited editions" refuses nothing.
#[must_use]
pub fn refuses_bot(text: &str) -> bool {
    let words = plain_words(text);
    REFUSALS.iter().any(|refusal| {
        let refusal: Vec<&str> = refusal.split(' ').collect();
        words
            .windows(refusal.len())
            .enumerate()
            .filter(|(_, w)| w.iter().zip(&refusal).all(|(a, b)| a == b))
            .any(|(at, _)| {
                let after = &words[at + refusal.len()..];
                let after = &after[..after.len().min(REFUSAL_REACH)];
                let has = |list: &[&str]| after.iter().any(|w| list.contains(&w.as_str()));
                has(BOTS) || (has(TALK) && has(TALKED_TO))
            })
    })
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
            "No, that's not what I was asking",
            "esto no me ayuda",
            "ça ne m'aide pas",
            "Das hilft mir nicht",
            "isso não ajudou",
            "Eso no me ayudó",
            "No me ayudó.",
            "Esto no ayuda",
            "Eres inútil",
            "Es la tercera vez que pregunto",
            "Tu n'as pas répondu à ma question",
            "C'est la troisième fois que je demande",
            "Vous êtes nul",
            "Você não respondeu minha pergunta",
            "Sie haben meine Frage nicht beantwortet",
        ] {
            assert!(not_helped(stuck), "{stuck}");
        }
        for question in [
            "The cooling pad doesn't help, can I return it?",
            "No, no help needed, thanks!",
            "The item is not what I asked for, how do I return it?",
            "This is my third time ordering, is there a loyalty discount?",
            "A camisa não serve, posso trocar?",
            "La talla no me sirve",
            "Die Creme hilft nicht, kann ich sie zurückgeben?",
            "the discount code doesn't work",
            "my password reset is still not working",
            "does the helmet help with safety?",
            "can you help me with my invoice?",
            "is there a third size?",
            "La crema no me ayudó, ¿puedo devolverla?",
            "Die Salbe hat nicht geholfen, kann ich sie zurückgeben?",
            "O creme não me ajudou, posso devolver?",
        ] {
            assert!(!not_helped(question), "{question}");
        }
    }

    #[test]
    fn refusing_a_bot_is_told_from_a_mention_of_one() {
        for refuses in [
            "I don't want to talk to a bot",
            "i dont want to talk to a machine, i want my money",
            "I hate bots",
            "no more bots please",
        ] {
            assert!(refuses_bot(refuses), "{refuses}");
        }
        for mention in [
            "are you a bot?",
            "does the robot vacuum come with a dock?",
            "I want to return the machine",
            "I don't want the robot vacuum any more, how do I return it?",
            "My robot vacuum won't stop talking, how do I mute it?",
            "Do you do anything to stop bots buying up limited editions?",
        ] {
            assert!(!refuses_bot(mention), "{mention}");
        }
    }
}
