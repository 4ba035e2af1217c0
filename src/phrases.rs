//! The service's own words to customers (not the help center's, the model's or an action's
//! template), in the languages the deterministic router reads: English, Spanish, French,
//! German and Portuguese: the language the customer writes in, when its common words say so
//! clearly; else the conversation's locale (the widget sends the page's or the browser's);
//! else English.

use crate::conversation::signals::words;

/// The example reference in the phrases that ask for one ("it looks like NW-1234567"); an
/// action's own example replaces it (see [`crate::actions::Actions::with_example`]).
pub const REFERENCE_EXAMPLE: &str = "NW-1234567";

/// A language the service speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Es,
    Fr,
    De,
    Pt,
}

/// Every fixed reply, in one language.
#[derive(Debug)]
pub struct Phrases {
    /// The language these are in.
    pub lang: Lang,
    /// The customer asked for a person.
    pub connecting: &'static str,
    /// The customer is frustrated.
    pub sorry: &'static str,
    /// A reply that hands off after it was written.
    pub handed_off: &'static str,
    /// Nothing in the help center answers the question (before [`Phrases::offer`]).
    pub not_found: &'static str,
    /// The offer of a person after a reply without an answer.
    pub offer: &'static str,
    /// The offer of a person after the model's unsure answer.
    pub offer_after_model: &'static str,
    /// "Here is what our help center says" (before the quoted passage's place).
    pub help_center_says: &'static str,
    /// "See also" (before a related article's title).
    pub see_also: &'static str,
    pub greeting: &'static str,
    /// "Are you a bot?", "what can you do?": who answers, and what they can do.
    pub about_me: &'static str,
    pub welcome: &'static str,
    pub goodbye: &'static str,
    /// A no to the offer of a person.
    pub no_person: &'static str,
    /// An account question with no order named, in a verified chat.
    pub which_order: &'static str,
    /// Another customer's details in a verified chat.
    pub other_account: &'static str,
    /// An account question before the customer's identity is checked.
    pub needs_verification: &'static str,
    /// The same, when the customer gave an email but no order number.
    pub needs_order_number: &'static str,
    /// The same, when the customer gave an order number but no email.
    pub needs_email: &'static str,
    /// The model failed; a person is on the way.
    pub model_down: &'static str,
    /// An action's backend failed (or answered nonsense); a person is on the way.
    pub lookup_failed: &'static str,
    /// Too many lookups in this chat found nothing.
    pub lookups_exhausted: &'static str,
    /// Too many failed identity checks with these details, from any chat.
    pub identity_locked: &'static str,
}

const EN: Phrases = Phrases {
    lang: Lang::En,
    connecting: "Of course. I'm connecting you with a person from our team; they'll reply right here, and they'll see everything we've discussed, so you won't need to repeat yourself.",
    sorry: "I'm sorry this has been frustrating. I'm bringing in a person from our team who will pick this up right here; they can see our whole conversation.",
    handed_off: "I've passed your conversation to our support team, and a person will reply here as soon as possible.",
    not_found: "I couldn't find an answer to that in our help center.",
    offer: "Would you like me to connect you with a person? Just say \"talk to a person\" or use the button.",
    offer_after_model: "If this doesn't answer your question, I can connect you with a person.",
    help_center_says: "Here is what our help center says",
    see_also: "See also",
    greeting: "Hi! How can I help you today? I can answer questions from our help center, and look up an order, an invoice or a refund with your order number and the email you used.",
    about_me: "I'm a virtual assistant, not a person. I answer questions from our help center, and look up an order, an invoice or a refund with your order number and the email you used. If you'd rather talk to a person, just say \"talk to a person\".",
    welcome: "You're welcome! Is there anything else I can help with?",
    goodbye: "Thanks for getting in touch. Have a great day!",
    no_person: "All right. Is there anything else I can help with?",
    which_order: "Which order is it about? Please send the order number (it looks like NW-1234567).",
    other_account: "This chat is already verified for another account, so I can't look up that one here. Please start a new chat for it, or ask for a person.",
    needs_verification: "I can look that up once I know it's you. Please send the email address you used for the order together with the order number (it looks like NW-1234567).",
    needs_order_number: "I can look that up once I know it's you. Please also send the number of one of your orders (it looks like NW-1234567).",
    needs_email: "I can look that up once I know it's you. Please also send the email address you used for that order.",
    model_down: "I'm sorry, I can't answer right now because our assistant is unavailable. I've passed your conversation to our support team, and a person will reply here as soon as possible.",
    lookup_failed: "I couldn't reach our order system just now, so I can't look that up. I've asked a person on our team to check it and reply here.",
    lookups_exhausted: "That didn't match our records too many times, so I can't look up account details in this chat any more. A person from our team can help you: just ask for one.",
    identity_locked: "There have been too many unsuccessful checks with this email address recently, so I can't check it again for a while. A person from our team can help you: just ask for one.",
};

const ES: Phrases = Phrases {
    lang: Lang::Es,
    connecting: "Por supuesto. Te pongo en contacto con una persona de nuestro equipo; te responderá aquí mismo y verá todo lo que hemos hablado, así que no tendrás que repetir nada.",
    sorry: "Siento que esto esté siendo frustrante. Voy a pasar la conversación a una persona de nuestro equipo, que seguirá aquí mismo; puede ver toda nuestra conversación.",
    handed_off: "He pasado tu conversación a nuestro equipo de soporte y una persona te responderá aquí lo antes posible.",
    not_found: "No he encontrado una respuesta a eso en nuestro centro de ayuda.",
    offer: "¿Quieres que te ponga en contacto con una persona? Solo di «hablar con una persona» o usa el botón.",
    offer_after_model: "Si esto no responde a tu pregunta, puedo ponerte en contacto con una persona.",
    help_center_says: "Esto es lo que dice nuestro centro de ayuda",
    see_also: "Ver también",
    greeting: "¡Hola! ¿En qué puedo ayudarte? Puedo responder preguntas de nuestro centro de ayuda y consultar un pedido, una factura o un reembolso con tu número de pedido y el correo que usaste.",
    about_me: "Soy un asistente virtual, no una persona. Respondo preguntas con nuestro centro de ayuda y consulto un pedido, una factura o un reembolso con tu número de pedido y el correo que usaste. Si prefieres hablar con una persona, escribe «hablar con una persona».",
    welcome: "¡De nada! ¿Hay algo más en lo que pueda ayudarte?",
    goodbye: "Gracias por escribirnos. ¡Que tengas un buen día!",
    no_person: "De acuerdo. ¿Hay algo más en lo que pueda ayudarte?",
    which_order: "¿De qué pedido se trata? Envíame el número de pedido (tiene este formato: NW-1234567).",
    other_account: "Este chat ya está verificado para otra cuenta, así que no puedo consultar esa aquí. Abre un chat nuevo para ella o pide hablar con una persona.",
    needs_verification: "Puedo consultarlo en cuanto sepa que eres tú. Envíame el correo electrónico que usaste en el pedido junto con el número de pedido (tiene este formato: NW-1234567).",
    needs_order_number: "Puedo consultarlo en cuanto sepa que eres tú. Envíame también el número de uno de tus pedidos (tiene este formato: NW-1234567).",
    needs_email: "Puedo consultarlo en cuanto sepa que eres tú. Envíame también el correo electrónico que usaste en ese pedido.",
    model_down: "Lo siento, ahora mismo no puedo responder porque nuestro asistente no está disponible. He pasado tu conversación a nuestro equipo de soporte y una persona te responderá aquí lo antes posible.",
    lookup_failed: "No he podido conectar con nuestro sistema de pedidos, así que ahora no puedo consultarlo. He pedido a una persona de nuestro equipo que lo revise y te responda aquí.",
    lookups_exhausted: "Los datos no han coincidido con nuestros registros demasiadas veces, así que ya no puedo consultar datos de la cuenta en este chat. Una persona de nuestro equipo puede ayudarte: solo pídelo.",
    identity_locked: "Ha habido demasiados intentos de verificación fallidos con este correo electrónico, así que no puedo volver a comprobarlo durante un tiempo. Una persona de nuestro equipo puede ayudarte: solo pídelo.",
};

const FR: Phrases = Phrases {
    lang: Lang::Fr,
    connecting: "Bien sûr. Je vous mets en relation avec une personne de notre équipe ; elle vous répondra ici même et verra tout ce que nous avons échangé, vous n'aurez donc rien à répéter.",
    sorry: "Je suis désolé que ce soit frustrant. Je fais venir une personne de notre équipe qui prendra le relais ici même ; elle peut voir toute notre conversation.",
    handed_off: "J'ai transmis votre conversation à notre équipe d'assistance ; une personne vous répondra ici dès que possible.",
    not_found: "Je n'ai pas trouvé de réponse à cela dans notre centre d'aide.",
    offer: "Voulez-vous que je vous mette en relation avec une personne ? Dites simplement « parler à un conseiller » ou utilisez le bouton.",
    offer_after_model: "Si cela ne répond pas à votre question, je peux vous mettre en relation avec une personne.",
    help_center_says: "Voici ce que dit notre centre d'aide",
    see_also: "Voir aussi",
    greeting: "Bonjour ! Comment puis-je vous aider ? Je peux répondre aux questions de notre centre d'aide et consulter une commande, une facture ou un remboursement avec votre numéro de commande et l'e-mail utilisé.",
    about_me: "Je suis un assistant virtuel, pas une personne. Je réponds aux questions à l'aide de notre centre d'aide et je consulte une commande, une facture ou un remboursement avec votre numéro de commande et l'e-mail utilisé. Pour parler à quelqu'un, écrivez « parler à un conseiller ».",
    welcome: "Avec plaisir ! Puis-je vous aider pour autre chose ?",
    goodbye: "Merci de nous avoir contactés. Bonne journée !",
    no_person: "D'accord. Puis-je vous aider pour autre chose ?",
    which_order: "De quelle commande s'agit-il ? Envoyez-moi le numéro de commande (il ressemble à NW-1234567).",
    other_account: "Ce chat est déjà vérifié pour un autre compte, je ne peux donc pas consulter celui-ci ici. Ouvrez un nouveau chat pour ce compte, ou demandez à parler à un conseiller.",
    needs_verification: "Je peux vérifier cela dès que je sais que c'est bien vous. Envoyez-moi l'adresse e-mail utilisée pour la commande avec le numéro de commande (il ressemble à NW-1234567).",
    needs_order_number: "Je peux vérifier cela dès que je sais que c'est bien vous. Envoyez-moi aussi le numéro d'une de vos commandes (il ressemble à NW-1234567).",
    needs_email: "Je peux vérifier cela dès que je sais que c'est bien vous. Envoyez-moi aussi l'adresse e-mail utilisée pour cette commande.",
    model_down: "Désolé, je ne peux pas répondre pour le moment car notre assistant est indisponible. J'ai transmis votre conversation à notre équipe d'assistance ; une personne vous répondra ici dès que possible.",
    lookup_failed: "Je n'arrive pas à joindre notre système de commandes pour le moment, je ne peux donc pas vérifier cela. J'ai demandé à une personne de notre équipe de s'en occuper et de vous répondre ici.",
    lookups_exhausted: "Les informations ne correspondaient pas à nos dossiers à trop de reprises, je ne peux donc plus consulter les informations du compte dans ce chat. Une personne de notre équipe peut vous aider : il suffit de la demander.",
    identity_locked: "Il y a eu trop de vérifications infructueuses avec cette adresse e-mail récemment, je ne peux donc pas la vérifier à nouveau avant un moment. Une personne de notre équipe peut vous aider : il suffit de la demander.",
};

const DE: Phrases = Phrases {
    lang: Lang::De,
    connecting: "Natürlich. Ich verbinde Sie mit einer Person aus unserem Team; sie antwortet Ihnen direkt hier und sieht alles, was wir besprochen haben, sodass Sie nichts wiederholen müssen.",
    sorry: "Es tut mir leid, dass das so frustrierend ist. Ich hole eine Person aus unserem Team dazu, die direkt hier übernimmt; sie sieht unser ganzes Gespräch.",
    handed_off: "Ich habe Ihr Gespräch an unser Support-Team weitergegeben; eine Person antwortet Ihnen hier so bald wie möglich.",
    not_found: "Dazu habe ich in unserem Hilfe-Center keine Antwort gefunden.",
    offer: "Soll ich Sie mit einer Person verbinden? Sagen Sie einfach „mit einer Person sprechen“ oder nutzen Sie die Schaltfläche.",
    offer_after_model: "Falls das Ihre Frage nicht beantwortet, kann ich Sie mit einer Person verbinden.",
    help_center_says: "Das steht in unserem Hilfe-Center",
    see_also: "Siehe auch",
    greeting: "Hallo! Wie kann ich helfen? Ich beantworte Fragen aus unserem Hilfe-Center und sehe mit Ihrer Bestellnummer und Ihrer E-Mail-Adresse nach einer Bestellung, Rechnung oder Erstattung.",
    about_me: "Ich bin ein virtueller Assistent, kein Mensch. Ich beantworte Fragen aus unserem Hilfe-Center und sehe mit Ihrer Bestellnummer und Ihrer E-Mail-Adresse nach einer Bestellung, Rechnung oder Erstattung. Wenn Sie lieber mit einer Person sprechen möchten, schreiben Sie „mit einer Person sprechen“.",
    welcome: "Gern geschehen! Kann ich sonst noch helfen?",
    goodbye: "Danke für Ihre Nachricht. Einen schönen Tag noch!",
    no_person: "In Ordnung. Kann ich sonst noch helfen?",
    which_order: "Um welche Bestellung geht es? Bitte senden Sie die Bestellnummer (sie sieht so aus: NW-1234567).",
    other_account: "Dieser Chat ist bereits für ein anderes Konto bestätigt, daher kann ich dieses hier nicht nachsehen. Bitte starten Sie dafür einen neuen Chat oder fragen Sie nach einer Person.",
    needs_verification: "Das sehe ich gern nach, sobald ich weiß, dass Sie es sind. Bitte senden Sie die E-Mail-Adresse, die Sie für die Bestellung verwendet haben, zusammen mit der Bestellnummer (sie sieht so aus: NW-1234567).",
    needs_order_number: "Das sehe ich gern nach, sobald ich weiß, dass Sie es sind. Bitte senden Sie auch die Nummer einer Ihrer Bestellungen (sie sieht so aus: NW-1234567).",
    needs_email: "Das sehe ich gern nach, sobald ich weiß, dass Sie es sind. Bitte senden Sie auch die E-Mail-Adresse, die Sie für diese Bestellung verwendet haben.",
    model_down: "Es tut mir leid, ich kann gerade nicht antworten, weil unser Assistent nicht verfügbar ist. Ich habe Ihr Gespräch an unser Support-Team weitergegeben; eine Person antwortet Ihnen hier so bald wie möglich.",
    lookup_failed: "Ich erreiche unser Bestellsystem gerade nicht und kann das deshalb nicht nachsehen. Ich habe eine Person aus unserem Team gebeten, es zu prüfen und Ihnen hier zu antworten.",
    lookups_exhausted: "Die Angaben passten zu oft nicht zu unseren Daten, daher kann ich in diesem Chat keine Kontodaten mehr nachsehen. Eine Person aus unserem Team hilft Ihnen gern: Fragen Sie einfach danach.",
    identity_locked: "Mit dieser E-Mail-Adresse gab es zuletzt zu viele erfolglose Prüfungen, daher kann ich sie eine Weile nicht erneut prüfen. Eine Person aus unserem Team hilft Ihnen gern: Fragen Sie einfach danach.",
};

const PT: Phrases = Phrases {
    lang: Lang::Pt,
    connecting: "Claro. Vou conectar você com uma pessoa da nossa equipe; ela responderá aqui mesmo e verá tudo o que conversamos, então você não precisará repetir nada.",
    sorry: "Lamento que isto esteja sendo frustrante. Vou chamar uma pessoa da nossa equipe, que continuará aqui mesmo; ela pode ver toda a nossa conversa.",
    handed_off: "Passei sua conversa para a nossa equipe de suporte, e uma pessoa responderá aqui o mais rápido possível.",
    not_found: "Não encontrei uma resposta para isso na nossa central de ajuda.",
    offer: "Quer que eu conecte você com uma pessoa? É só dizer \"falar com uma pessoa\" ou usar o botão.",
    offer_after_model: "Se isto não responder à sua pergunta, posso conectar você com uma pessoa.",
    help_center_says: "Veja o que diz a nossa central de ajuda",
    see_also: "Veja também",
    greeting: "Olá! Como posso ajudar? Posso responder a perguntas da nossa central de ajuda e consultar um pedido, uma fatura ou um reembolso com o número do pedido e o e-mail que você usou.",
    about_me: "Sou um assistente virtual, não uma pessoa. Respondo a perguntas com a nossa central de ajuda e consulto um pedido, uma fatura ou um reembolso com o número do pedido e o e-mail que você usou. Se preferir falar com uma pessoa, escreva \"falar com uma pessoa\".",
    welcome: "De nada! Posso ajudar em mais alguma coisa?",
    goodbye: "Obrigado pelo contato. Tenha um ótimo dia!",
    no_person: "Tudo bem. Posso ajudar em mais alguma coisa?",
    which_order: "De qual pedido se trata? Envie o número do pedido (ele tem este formato: NW-1234567).",
    other_account: "Este chat já está verificado para outra conta, então não posso consultar essa aqui. Abra um novo chat para ela ou peça para falar com uma pessoa.",
    needs_verification: "Posso consultar isso assim que souber que é você. Envie o e-mail que você usou no pedido junto com o número do pedido (ele tem este formato: NW-1234567).",
    needs_order_number: "Posso consultar isso assim que souber que é você. Envie também o número de um dos seus pedidos (ele tem este formato: NW-1234567).",
    needs_email: "Posso consultar isso assim que souber que é você. Envie também o e-mail que você usou nesse pedido.",
    model_down: "Desculpe, não posso responder agora porque o nosso assistente está indisponível. Passei sua conversa para a nossa equipe de suporte, e uma pessoa responderá aqui o mais rápido possível.",
    lookup_failed: "Não consegui acessar nosso sistema de pedidos agora, então não posso consultar isso. Pedi a uma pessoa da nossa equipe que verifique e responda aqui.",
    lookups_exhausted: "Os dados não corresponderam aos nossos registros várias vezes, então não posso mais consultar dados da conta neste chat. Uma pessoa da nossa equipe pode ajudar: é só pedir.",
    identity_locked: "Houve muitas tentativas de verificação sem sucesso com este e-mail recentemente, então não posso verificá-lo de novo por um tempo. Uma pessoa da nossa equipe pode ajudar: é só pedir.",
};

/// English: what the model is told, and the default.
pub const ENGLISH: &Phrases = &EN;

/// Every language's phrases, English first.
pub const ALL: [&Phrases; 5] = [&EN, &ES, &FR, &DE, &PT];

/// Words common in one language, accents folded: mostly in none of the others nor in English;
/// a few short function words are in two ("un", Spanish and French) or are place names' too
/// ("el", "le", "les", "au"), and count only with a second marker, as every marker does
/// ("Livrez-vous au Canada ?"). Not "die", "mit", "da": English words.
const MARKERS: [(Lang, &[&str]); 4] = [
    (
        Lang::Es,
        &[
            "hola",
            "gracias",
            "quiero",
            "donde",
            "cuando",
            "por",
            "para",
            "mis",
            "una",
            "esta",
            "como",
            "que",
            "tengo",
            "puedo",
            "hablar",
            "necesito",
            "del",
            "muy",
            "pedido",
            "ayuda",
            "envio",
            "devolucion",
            "buenos",
            "buenas",
            "usted",
            "hay",
            "pero",
            "mi",
            "los",
            "cuanto",
            "cuesta",
            "envios",
            "hacen",
            "puedes",
            "un",
            "el",
        ],
    ),
    (
        Lang::Fr,
        &[
            "bonjour",
            "merci",
            "je",
            "veux",
            "quand",
            "pour",
            "mes",
            "une",
            "est",
            "pas",
            "avec",
            "comment",
            "puis",
            "vous",
            "suis",
            "commande",
            "aide",
            "besoin",
            "parler",
            "du",
            "des",
            "livraison",
            "remboursement",
            "salut",
            "mais",
            "mon",
            "ma",
            "combien",
            "coute",
            "pourquoi",
            "quel",
            "quelle",
            "votre",
            "nous",
            "au",
            "aux",
            "un",
            "le",
            "les",
        ],
    ),
    (
        Lang::De,
        &[
            "hallo",
            "danke",
            "ich",
            "mochte",
            "wann",
            "fur",
            "mein",
            "meine",
            "der",
            "ist",
            "nicht",
            "wie",
            "kann",
            "und",
            "ein",
            "eine",
            "bitte",
            "bestellung",
            "hilfe",
            "brauche",
            "sprechen",
            "lieferung",
            "guten",
            "sie",
            "habe",
            "noch",
            "wurde",
        ],
    ),
    (
        Lang::Pt,
        &[
            "ola", "obrigado", "obrigada", "quero", "onde", "quando", "meu", "minha", "nao",
            "como", "posso", "falar", "pessoa", "preciso", "voce", "uma", "para", "entrega",
            "ajuda", "pedido", "bom", "boa", "tenho", "mas", "esta", "com", "quanto", "demora",
            "um", "faco",
        ],
    ),
];

/// Markers that alone say the language of a message of one or two words ("hola", "merci
/// beaucoup"): greetings and thanks.
const ALONE: &[(&str, Lang)] = &[
    ("hola", Lang::Es),
    ("gracias", Lang::Es),
    ("buenos", Lang::Es),
    ("buenas", Lang::Es),
    ("bonjour", Lang::Fr),
    ("merci", Lang::Fr),
    ("salut", Lang::Fr),
    ("hallo", Lang::De),
    ("danke", Lang::De),
    ("guten", Lang::De),
    ("ola", Lang::Pt),
    ("obrigado", Lang::Pt),
    ("obrigada", Lang::Pt),
];

/// English function words: a message with as many of these as another language's markers is
/// English ("Do you ship to Las Vegas or Los Angeles?").
const ENGLISH_WORDS: &[&str] = &[
    "the", "to", "is", "are", "you", "my", "i", "and", "or", "for", "with", "what", "where", "how",
    "when", "can", "do", "does", "it", "of", "in", "on", "a", "an", "your", "me", "we", "this",
    "that", "was", "have", "has", "will", "would", "be", "not", "please", "there",
];

/// English words that are no common word of the other languages (unlike "a", "do", "in",
/// "me", "on"): two different ones, more than another language's markers, make a message
/// English ("Can you answer in English please?" after French).
const ONLY_ENGLISH: &[&str] = &[
    "the", "you", "your", "my", "what", "where", "how", "when", "please", "with", "and", "is",
    "are", "can", "does", "it", "this", "that", "was", "have", "has", "will", "would", "there",
    "to", "of", "for", "answer", "english",
];

impl Lang {
    /// Whether `tag` has a language tag's shape (BCP 47: "en", "pt-BR", "zh-Hant-TW"; "_"
    /// is taken for "-", as POSIX locales write it): a primary subtag of 2-3 letters, then
    /// subtags of 1-8 letters or digits, 35 characters at most.
    pub fn is_tag(tag: &str) -> bool {
        let mut subtags = tag.split(['-', '_']);
        let primary = subtags.next().unwrap_or_default();
        tag.len() <= 35
            && (2..=3).contains(&primary.len())
            && primary.bytes().all(|b| b.is_ascii_alphabetic())
            && subtags
                .all(|s| (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()))
    }

    /// The language of a locale ("es", "es-MX", "pt_BR"); `None` for another or none.
    pub fn of_locale(locale: Option<&str>) -> Option<Self> {
        let primary = locale?.split(['-', '_']).next()?.to_ascii_lowercase();
        Some(match primary.as_str() {
            "en" => Lang::En,
            "es" => Lang::Es,
            "fr" => Lang::Fr,
            "de" => Lang::De,
            "pt" => Lang::Pt,
            _ => return None,
        })
    }

    /// The language a message is written in, when its common words say so clearly: two
    /// different marker words (Spanish's "¿" or "¡" counts as two), more than any other
    /// language has and more than the English function words in it; English when it has two
    /// different words of [`ONLY_ENGLISH`] and more than any language's markers; in a message
    /// of one or two words, a greeting or thanks ("hola", "merci beaucoup") or a "¿". Email
    /// addresses and links are left out.
    pub fn of_text(text: &str) -> Option<Self> {
        let spanish_marks = if text.contains(['¿', '¡']) { 2 } else { 0 };
        let owned = words(text);
        let mut words: Vec<&str> = owned.iter().map(String::as_str).collect();
        if words.len() <= 2 {
            return words
                .iter()
                .find_map(|w| ALONE.iter().find(|(m, _)| m == w).map(|(_, lang)| *lang))
                .or((spanish_marks > 0).then_some(Lang::Es));
        }
        let english = words.iter().filter(|w| ENGLISH_WORDS.contains(w)).count();
        words.sort_unstable();
        words.dedup();
        let only_english = words.iter().filter(|w| ONLY_ENGLISH.contains(w)).count();
        let mut counts: Vec<(Lang, usize)> = MARKERS
            .iter()
            .map(|(lang, markers)| {
                let found = words.iter().filter(|w| markers.contains(w)).count();
                (
                    *lang,
                    found + if *lang == Lang::Es { spanish_marks } else { 0 },
                )
            })
            .collect();
        counts.sort_by_key(|&(_, found)| std::cmp::Reverse(found));
        match counts.as_slice() {
            [(lang, best), (_, second), ..] if *best >= 2 && best > second && *best > english => {
                Some(*lang)
            }
            [(_, best), ..] if only_english >= 2 && only_english > *best => Some(Lang::En),
            _ => None,
        }
    }

    /// Whether the text has any word only English has ("you", "the", "what"): a message
    /// whose language is unclear may still be English.
    pub fn has_english_words(text: &str) -> bool {
        words(text)
            .iter()
            .any(|w| ONLY_ENGLISH.contains(&w.as_str()))
    }

    /// The language to answer a message in: its own when clear, else that of the latest of
    /// the customer's `earlier` messages (latest first) that is clear ("NW-1046247" after "Où
    /// est ma commande ?"), else the locale's, else English.
    pub fn of<'a>(
        locale: Option<&str>,
        text: &str,
        earlier: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        Self::of_messages(text, earlier)
            .or_else(|| Self::of_locale(locale))
            .unwrap_or(Lang::En)
    }

    /// The language the customer writes in, when their messages say so: this one's, else
    /// that of the latest of the `earlier` ones (latest first) that is clear.
    pub fn of_messages<'a>(text: &str, earlier: impl IntoIterator<Item = &'a str>) -> Option<Self> {
        Self::of_text(text).or_else(|| earlier.into_iter().find_map(Self::of_text))
    }

    /// The language's name in English ("French"), as a prompt names it.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Es => "Spanish",
            Lang::Fr => "French",
            Lang::De => "German",
            Lang::Pt => "Portuguese",
        }
    }

    /// The language's code, as a locale starts ("fr").
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
            Lang::Fr => "fr",
            Lang::De => "de",
            Lang::Pt => "pt",
        }
    }

    /// This language's phrases.
    pub fn phrases(self) -> &'static Phrases {
        match self {
            Lang::En => &EN,
            Lang::Es => &ES,
            Lang::Fr => &FR,
            Lang::De => &DE,
            Lang::Pt => &PT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags_are_told_from_other_text() {
        for tag in ["en", "pt-BR", "pt_BR", "zh-Hant-TW", "es-419", "fil"] {
            assert!(Lang::is_tag(tag), "{tag}");
        }
        for text in [
            "",
            "e",
            "english",
            "fr-",
            "en--US",
            "fr FR",
            "<script>",
            "de-toolongsubtag",
        ] {
            assert!(!Lang::is_tag(text), "{text}");
        }
        assert!(!Lang::is_tag(&format!("en{}", "-a".repeat(20))));
    }

    #[test]
    fn a_clear_message_chooses_and_else_the_locale() {
        let none = std::iter::empty();
        assert_eq!(Lang::of(Some("es-MX"), "hello", none.clone()), Lang::Es);
        assert_eq!(
            Lang::of(Some("pt_BR"), "NW-1234567", none.clone()),
            Lang::Pt
        );
        assert_eq!(
            Lang::of(Some("it"), "ok", none.clone()),
            Lang::En,
            "no Italian: English"
        );
        assert_eq!(
            Lang::of(Some("en-US"), "¿Dónde está mi pedido?", none.clone()),
            Lang::Es
        );
        // Words of other languages that English has too ("a", "do", "in", "me", "on") do not
        // make a message English: the locale stands.
        for text in [
            "On a reçu un colis abîmé",
            "Cadê a encomenda do João?",
            "Me llegó a casa roto",
            "Paket an Adresse in Berlin angekommen?",
        ] {
            assert_eq!(Lang::of_text(text), None, "{text}");
        }
        assert_eq!(
            Lang::of(Some("es-MX"), "Do you ship to Los Angeles?", none.clone()),
            Lang::En
        );
        // The conversation's language holds for a message that does not say one.
        let french = ["Où est ma commande ? Je ne la trouve pas"];
        assert_eq!(Lang::of(Some("en"), "NW-1046247", french), Lang::Fr);
        assert_eq!(
            Lang::of(Some("en"), "Can you answer in English please?", french),
            Lang::En
        );
        let cases = [
            ("hola", Lang::Es),
            ("¿Dónde está mi pedido?", Lang::Es),
            ("Quiero hablar con una persona", Lang::Es),
            ("merci beaucoup", Lang::Fr),
            ("Je veux parler à un conseiller", Lang::Fr),
            // Short questions with one marker and a function word (QA: labelled in English).
            ("Livrez-vous au Canada ?", Lang::Fr),
            ("Comment retourner un article ?", Lang::Fr),
            ("Como faço para devolver um produto?", Lang::Pt),
            ("¿Cómo devuelvo un producto?", Lang::Es),
            ("Ich möchte mit einem Mitarbeiter sprechen", Lang::De),
            ("Wo ist meine Bestellung?", Lang::De),
            ("Olá, onde está o meu pedido?", Lang::Pt),
            ("quero falar com um atendente", Lang::Pt),
            ("Um, do you ship to Canada?", Lang::En),
            ("Where is my order?", Lang::En),
            ("Do you ship to Canada?", Lang::En),
            ("hi", Lang::En),
            ("I love the Bonjour mug", Lang::En),
            ("Do you ship to Las Vegas or Los Angeles?", Lang::En),
            ("Will it reach Springfield, IL by 5pm EST?", Lang::En),
            (
                "Is the die-cast model in stock? I want two die-cast cars",
                Lang::En,
            ),
            ("Can I pay with PayPal? maria.da.silva@gmail.com", Lang::En),
            ("Le Creuset", Lang::En),
            ("Mon-Fri?", Lang::En),
            ("El Paso", Lang::En),
            ("Mi pedido no ha llegado", Lang::Es),
            ("¿Hacen envíos a México?", Lang::Es),
            ("¿Cuánto cuesta el envío a Canadá?", Lang::Es),
            ("Combien coûte la livraison au Canada ?", Lang::Fr),
            ("quanto tempo demora o reembolso?", Lang::Pt),
            ("¿Hablas inglés?", Lang::Es),
        ];
        for (text, expected) in cases {
            assert_eq!(Lang::of(None, text, none.clone()), expected, "{text}");
        }
    }

    #[test]
    fn each_offer_of_a_person_names_a_request_the_service_understands() {
        for phrases in ALL {
            for text in [phrases.offer, phrases.about_me] {
                let said = text
                    .split(['"', '«', '»', '„', '“'])
                    .nth(1)
                    .expect("the words to say")
                    .trim();
                assert!(crate::conversation::signals::asks_for_human(said), "{said}");
            }
        }
    }
}
