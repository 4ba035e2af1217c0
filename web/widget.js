/*
 * Frontdesk chat widget.
 *
 *   <script src="https://HOST/widget.js" data-channel="web" data-locale="en-US" defer></script>
 *
 * Adds a launcher button and a chat panel inside a Shadow DOM root. Talks to the
 * Frontdesk API on the script's own origin. Every message is rendered with
 * textContent only (never innerHTML). data-locale (else the browser's language) sets
 * the widget's own words (English, Spanish, French, German or Portuguese; else
 * English), its number and date formats, and the language the assistant answers in.
 */
(() => {
  'use strict';
  if (window.FrontdeskWidget) return; // loaded twice

  // Captured now: document.currentScript is only set while the script first runs.
  const script = document.currentScript;
  const ORIGIN = new URL(script && script.src ? script.src : location.href).origin;
  const CHANNEL = (script && script.dataset.channel) || 'web';
  const LOCALE = (script && script.dataset.locale) || navigator.language || 'en';
  const STORE_KEY = `frontdesk:${ORIGIN}:${CHANNEL}`;
  const MAX_CHARS = 4000;

  // ---------------------------------------------------------------- words
  // Every word the widget itself shows, in the languages the service answers in (the wording of
  // src/phrases.rs and of the actions' translations). No fact of the business's (a delay, a
  // price) is written here: those come with the reply, from the actions' templates. Grouped keys ("orderStatus.in_transit")
  // name the API's own values; a value no language names is humanized ("In transit").
  const STRINGS = {
    en: {
      title: 'Chat with support', open: 'Open chat', close: 'Close chat', messages: 'Messages',
      welcome: 'Hi! Ask us about orders, shipping, returns or anything else.',
      placeholder: 'Type your message…', yourMessage: 'Your message', send: 'Send', person: 'Talk to a person',
      typing: 'Assistant is typing', anAgent: 'An agent', supportAgent: 'Support agent',
      joined: '{name} joined', left: '{name} left the chat.', back: 'The assistant can help again.',
      waiting: 'Waiting for a person…', personSoon: 'A person will reply here shortly.',
      offline: "We can't reach the chat right now. Check your connection and try again.",
      requestFailed: 'Request failed ({status})', wrong: 'Something went wrong.',
      tooLong: 'Your message is too long (at most {max} characters).', notSent: 'Not sent: {reason}', networkError: 'network error',
      sources: 'Sources: ', article: 'Article', helpful: 'Helpful', notHelpful: 'Not helpful',
      feedbackSaved: 'Thanks, feedback recorded.', feedbackFailed: "Couldn't send feedback: {reason}",
      ok: 'ok', noMatch: 'no match', failed: 'failed', noRecord: 'No record matches those details.',
      lookupFailed: "We couldn't complete this lookup.", noRecentOrders: 'No recent orders.', noRefunds: 'No refunds for this order.',
      order: 'Order', status: 'Status', placed: 'Placed', total: 'Total', carrier: 'Carrier', tracking: 'Tracking',
      delivered: 'Delivered', estimatedDelivery: 'Estimated delivery', item: 'Item', orderTotal: 'Order total',
      invoice: 'Invoice', notIssued: 'Not issued yet', issued: 'Issued', amount: 'Amount', invoiceStatus: 'Invoice status',
      pdf: 'PDF', download: 'Download invoice', refund: 'Refund', expectedBy: 'Expected by', to: 'To',
      'card.order_status': 'Order status', 'card.recent_orders': 'Recent orders', 'card.billing_lookup': 'Invoice & payments',
      'card.refund_status': 'Refund status', 'card.verify_customer': 'Verify customer',
      'method.paypal': 'PayPal', 'method.apple_pay': 'Apple Pay', 'method.google_pay': 'Google Pay',
      'explanation.pending_hold': 'The pending authorization is a temporary hold, not a second charge.',
      'explanation.duplicate_capture': 'You were charged twice for this order.',
    },
    es: {
      title: 'Chat con soporte', open: 'Abrir chat', close: 'Cerrar chat', messages: 'Mensajes',
      welcome: '¡Hola! Pregúntanos por pedidos, envíos, devoluciones o cualquier otra cosa.',
      placeholder: 'Escribe tu mensaje…', yourMessage: 'Tu mensaje', send: 'Enviar', person: 'Hablar con una persona',
      typing: 'El asistente está escribiendo', anAgent: 'Un agente', supportAgent: 'Agente de soporte',
      joined: '{name} se ha unido al chat', left: '{name} ha salido del chat.', back: 'El asistente puede volver a ayudarte.',
      waiting: 'Esperando a una persona…', personSoon: 'Una persona te responderá aquí en breve.',
      offline: 'Ahora mismo no podemos conectar con el chat. Comprueba tu conexión e inténtalo de nuevo.',
      requestFailed: 'La solicitud ha fallado ({status})', wrong: 'Algo ha salido mal.',
      tooLong: 'Tu mensaje es demasiado largo (como máximo {max} caracteres).', notSent: 'No enviado: {reason}', networkError: 'error de red',
      sources: 'Fuentes: ', article: 'Artículo', helpful: 'Útil', notHelpful: 'No es útil',
      feedbackSaved: 'Gracias, hemos registrado tu opinión.', feedbackFailed: 'No se ha podido enviar tu opinión: {reason}',
      ok: 'ok', noMatch: 'sin coincidencias', failed: 'error', noRecord: 'Esos datos no coinciden con nuestros registros.',
      lookupFailed: 'No hemos podido completar esta consulta.', noRecentOrders: 'No hay pedidos recientes.', noRefunds: 'No hay reembolsos en este pedido.',
      order: 'Pedido', status: 'Estado', placed: 'Fecha del pedido', total: 'Total', carrier: 'Transportista', tracking: 'Seguimiento',
      delivered: 'Entregado', estimatedDelivery: 'Entrega estimada', item: 'Artículo', orderTotal: 'Total del pedido',
      invoice: 'Factura', notIssued: 'Todavía no emitida', issued: 'Emitida', amount: 'Importe', invoiceStatus: 'Estado de la factura',
      pdf: 'PDF', download: 'Descargar factura', refund: 'Reembolso', expectedBy: 'Previsto para el', to: 'Destino',
      'card.order_status': 'Estado del pedido', 'card.recent_orders': 'Pedidos recientes', 'card.billing_lookup': 'Factura y cargos',
      'card.refund_status': 'Estado del reembolso', 'card.verify_customer': 'Verificación de tus datos',
      'orderStatus.processing': 'en preparación', 'orderStatus.shipped': 'enviado', 'orderStatus.in_transit': 'en tránsito',
      'orderStatus.out_for_delivery': 'en reparto', 'orderStatus.delivered': 'entregado', 'orderStatus.backordered': 'pendiente de reposición',
      'orderStatus.delayed': 'con retraso', 'orderStatus.cancelled': 'cancelado', 'orderStatus.returned': 'devuelto',
      'invoiceStatus.paid': 'pagada', 'invoiceStatus.void': 'anulada', 'invoiceStatus.refunded': 'reembolsada',
      'invoiceStatus.partially_refunded': 'reembolsada en parte',
      'paymentKind.authorization': 'autorización', 'paymentKind.capture': 'cobro', 'paymentKind.refund': 'reembolso',
      'paymentStatus.pending': 'pendiente', 'paymentStatus.succeeded': 'realizado', 'paymentStatus.failed': 'fallido', 'paymentStatus.voided': 'anulado',
      'paymentStatus.authorization.succeeded': 'realizada', 'paymentStatus.authorization.failed': 'fallida', 'paymentStatus.authorization.voided': 'anulada',
      'refundStatus.requested': 'solicitado', 'refundStatus.approved': 'aprobado', 'refundStatus.processing': 'en proceso',
      'refundStatus.issued': 'emitido', 'refundStatus.rejected': 'rechazado',
      'method.card': 'tarjeta', 'method.gift_card': 'tarjeta regalo', 'method.store_credit': 'crédito de tienda',
      'explanation.pending_hold': 'La autorización pendiente es una retención temporal, no un segundo cargo.',
      'explanation.duplicate_capture': 'Se te cobró dos veces este pedido.',
    },
    fr: {
      title: "Discuter avec l'assistance", open: 'Ouvrir le chat', close: 'Fermer le chat', messages: 'Messages',
      welcome: 'Bonjour ! Posez-nous vos questions sur les commandes, la livraison, les retours ou autre chose.',
      placeholder: 'Écrivez votre message…', yourMessage: 'Votre message', send: 'Envoyer', person: 'Parler à un conseiller',
      typing: "L'assistant écrit", anAgent: 'Un conseiller', supportAgent: 'Conseiller',
      joined: '{name} a rejoint la conversation', left: '{name} a quitté la conversation.', back: "L'assistant peut de nouveau vous aider.",
      waiting: "En attente d'un conseiller…", personSoon: 'Une personne vous répondra ici très bientôt.',
      offline: 'Impossible de joindre le chat pour le moment. Vérifiez votre connexion et réessayez.',
      requestFailed: 'La requête a échoué ({status})', wrong: "Une erreur s'est produite.",
      tooLong: 'Votre message est trop long ({max} caractères au maximum).', notSent: 'Non envoyé : {reason}', networkError: 'erreur réseau',
      sources: 'Sources : ', article: 'Article', helpful: 'Utile', notHelpful: 'Pas utile',
      feedbackSaved: 'Merci, votre avis est enregistré.', feedbackFailed: "Impossible d'envoyer votre avis : {reason}",
      ok: 'ok', noMatch: 'aucune correspondance', failed: 'échec', noRecord: 'Ces informations ne correspondent pas à nos dossiers.',
      lookupFailed: "Nous n'avons pas pu effectuer cette recherche.", noRecentOrders: 'Aucune commande récente.', noRefunds: 'Aucun remboursement pour cette commande.',
      order: 'Commande', status: 'Statut', placed: 'Passée le', total: 'Total', carrier: 'Transporteur', tracking: 'Suivi',
      delivered: 'Livrée le', estimatedDelivery: 'Livraison estimée', item: 'Article', orderTotal: 'Total de la commande',
      invoice: 'Facture', notIssued: 'Pas encore émise', issued: 'Émise le', amount: 'Montant', invoiceStatus: 'Statut de la facture',
      pdf: 'PDF', download: 'Télécharger la facture', refund: 'Remboursement', expectedBy: "Prévu d'ici le", to: 'Sur',
      'card.order_status': 'Statut de la commande', 'card.recent_orders': 'Commandes récentes', 'card.billing_lookup': 'Facture et paiements',
      'card.refund_status': 'Statut du remboursement', 'card.verify_customer': 'Vérification de vos informations',
      'orderStatus.processing': 'en préparation', 'orderStatus.shipped': 'expédiée', 'orderStatus.in_transit': 'en transit',
      'orderStatus.out_for_delivery': 'en cours de livraison', 'orderStatus.delivered': 'livrée',
      'orderStatus.backordered': 'en attente de réapprovisionnement', 'orderStatus.delayed': 'en retard',
      'orderStatus.cancelled': 'annulée', 'orderStatus.returned': 'retournée',
      'invoiceStatus.paid': 'payée', 'invoiceStatus.void': 'annulée', 'invoiceStatus.refunded': 'remboursée',
      'invoiceStatus.partially_refunded': 'remboursée en partie',
      'paymentKind.authorization': 'autorisation', 'paymentKind.capture': 'débit', 'paymentKind.refund': 'remboursement',
      'paymentStatus.pending': 'en attente', 'paymentStatus.succeeded': 'effectué', 'paymentStatus.failed': 'échoué', 'paymentStatus.voided': 'annulé',
      'paymentStatus.authorization.succeeded': 'effectuée', 'paymentStatus.authorization.failed': 'échouée', 'paymentStatus.authorization.voided': 'annulée',
      'refundStatus.requested': 'demandé', 'refundStatus.approved': 'approuvé', 'refundStatus.processing': 'en cours',
      'refundStatus.issued': 'effectué', 'refundStatus.rejected': 'refusé',
      'method.card': 'carte', 'method.gift_card': 'carte cadeau', 'method.store_credit': 'avoir',
      'explanation.pending_hold': "L'autorisation en attente est une retenue temporaire, pas un second débit.",
      'explanation.duplicate_capture': 'Cette commande vous a été débitée deux fois.',
    },
    de: {
      title: 'Chat mit dem Support', open: 'Chat öffnen', close: 'Chat schließen', messages: 'Nachrichten',
      welcome: 'Hallo! Fragen Sie uns zu Bestellungen, Versand, Rücksendungen oder allem anderen.',
      placeholder: 'Ihre Nachricht…', yourMessage: 'Ihre Nachricht', send: 'Senden', person: 'Mit einer Person sprechen',
      typing: 'Der Assistent schreibt', anAgent: 'Ein Mitarbeiter', supportAgent: 'Support-Mitarbeiter',
      joined: '{name} ist dem Chat beigetreten', left: '{name} hat den Chat verlassen.', back: 'Der Assistent kann wieder helfen.',
      waiting: 'Warten auf eine Person…', personSoon: 'Eine Person antwortet Ihnen hier in Kürze.',
      offline: 'Der Chat ist gerade nicht erreichbar. Bitte prüfen Sie Ihre Verbindung und versuchen Sie es erneut.',
      requestFailed: 'Anfrage fehlgeschlagen ({status})', wrong: 'Etwas ist schiefgelaufen.',
      tooLong: 'Ihre Nachricht ist zu lang (höchstens {max} Zeichen).', notSent: 'Nicht gesendet: {reason}', networkError: 'Netzwerkfehler',
      sources: 'Quellen: ', article: 'Artikel', helpful: 'Hilfreich', notHelpful: 'Nicht hilfreich',
      feedbackSaved: 'Danke, Ihr Feedback wurde gespeichert.', feedbackFailed: 'Feedback konnte nicht gesendet werden: {reason}',
      ok: 'ok', noMatch: 'kein Treffer', failed: 'fehlgeschlagen', noRecord: 'Diese Angaben stimmen nicht mit unseren Daten überein.',
      lookupFailed: 'Diese Abfrage konnte nicht abgeschlossen werden.', noRecentOrders: 'Noch keine Bestellungen.', noRefunds: 'Keine Erstattungen zu dieser Bestellung.',
      order: 'Bestellung', status: 'Status', placed: 'Bestellt am', total: 'Gesamt', carrier: 'Versanddienst', tracking: 'Sendungsnummer',
      delivered: 'Zugestellt am', estimatedDelivery: 'Voraussichtliche Zustellung', item: 'Artikel', orderTotal: 'Bestellsumme',
      invoice: 'Rechnung', notIssued: 'Noch nicht ausgestellt', issued: 'Ausgestellt am', amount: 'Betrag', invoiceStatus: 'Rechnungsstatus',
      pdf: 'PDF', download: 'Rechnung herunterladen', refund: 'Erstattung', expectedBy: 'Voraussichtlich bis', to: 'Auf',
      'card.order_status': 'Bestellstatus', 'card.recent_orders': 'Letzte Bestellungen', 'card.billing_lookup': 'Rechnung und Zahlungen',
      'card.refund_status': 'Erstattungsstatus', 'card.verify_customer': 'Prüfung Ihrer Angaben',
      'orderStatus.processing': 'in Bearbeitung', 'orderStatus.shipped': 'versandt', 'orderStatus.in_transit': 'unterwegs',
      'orderStatus.out_for_delivery': 'in Zustellung', 'orderStatus.delivered': 'zugestellt', 'orderStatus.backordered': 'wartet auf Nachschub',
      'orderStatus.delayed': 'verspätet', 'orderStatus.cancelled': 'storniert', 'orderStatus.returned': 'zurückgeschickt',
      'invoiceStatus.paid': 'bezahlt', 'invoiceStatus.void': 'storniert', 'invoiceStatus.refunded': 'erstattet',
      'invoiceStatus.partially_refunded': 'teilweise erstattet',
      'paymentKind.authorization': 'Autorisierung', 'paymentKind.capture': 'Belastung', 'paymentKind.refund': 'Erstattung',
      'paymentStatus.pending': 'ausstehend', 'paymentStatus.succeeded': 'erfolgreich', 'paymentStatus.failed': 'fehlgeschlagen', 'paymentStatus.voided': 'aufgehoben',
      'refundStatus.requested': 'beantragt', 'refundStatus.approved': 'genehmigt', 'refundStatus.processing': 'in Bearbeitung',
      'refundStatus.issued': 'ausgezahlt', 'refundStatus.rejected': 'abgelehnt',
      'method.card': 'Karte', 'method.gift_card': 'Geschenkkarte', 'method.store_credit': 'Guthaben',
      'explanation.pending_hold': 'Die ausstehende Autorisierung ist eine vorübergehende Reservierung, keine zweite Belastung.',
      'explanation.duplicate_capture': 'Diese Bestellung wurde Ihnen zweimal belastet.',
    },
    pt: {
      title: 'Converse com o suporte', open: 'Abrir chat', close: 'Fechar chat', messages: 'Mensagens',
      welcome: 'Olá! Pergunte sobre pedidos, entregas, devoluções ou qualquer outra coisa.',
      placeholder: 'Digite sua mensagem…', yourMessage: 'Sua mensagem', send: 'Enviar', person: 'Falar com uma pessoa',
      typing: 'O assistente está digitando', anAgent: 'Um atendente', supportAgent: 'Atendente',
      joined: '{name} entrou no chat', left: '{name} saiu do chat.', back: 'O assistente pode ajudar de novo.',
      waiting: 'Aguardando uma pessoa…', personSoon: 'Uma pessoa responderá aqui em breve.',
      offline: 'Não conseguimos acessar o chat agora. Verifique sua conexão e tente de novo.',
      requestFailed: 'A solicitação falhou ({status})', wrong: 'Algo deu errado.',
      tooLong: 'Sua mensagem é longa demais (no máximo {max} caracteres).', notSent: 'Não enviada: {reason}', networkError: 'erro de rede',
      sources: 'Fontes: ', article: 'Artigo', helpful: 'Útil', notHelpful: 'Não foi útil',
      feedbackSaved: 'Obrigado, sua avaliação foi registrada.', feedbackFailed: 'Não foi possível enviar sua avaliação: {reason}',
      ok: 'ok', noMatch: 'sem correspondência', failed: 'falhou', noRecord: 'Esses dados não correspondem aos nossos registros.',
      lookupFailed: 'Não conseguimos concluir esta consulta.', noRecentOrders: 'Nenhum pedido recente.', noRefunds: 'Nenhum reembolso neste pedido.',
      order: 'Pedido', status: 'Status', placed: 'Data do pedido', total: 'Total', carrier: 'Transportadora', tracking: 'Código de rastreio',
      delivered: 'Entregue em', estimatedDelivery: 'Previsão de entrega', item: 'Item', orderTotal: 'Total do pedido',
      invoice: 'Fatura', notIssued: 'Ainda não emitida', issued: 'Emitida em', amount: 'Valor', invoiceStatus: 'Status da fatura',
      pdf: 'PDF', download: 'Baixar fatura', refund: 'Reembolso', expectedBy: 'Previsto até', to: 'Para',
      'card.order_status': 'Status do pedido', 'card.recent_orders': 'Pedidos recentes', 'card.billing_lookup': 'Fatura e cobranças',
      'card.refund_status': 'Status do reembolso', 'card.verify_customer': 'Verificação dos seus dados',
      'orderStatus.processing': 'em preparação', 'orderStatus.shipped': 'enviado', 'orderStatus.in_transit': 'em trânsito',
      'orderStatus.out_for_delivery': 'saiu para entrega', 'orderStatus.delivered': 'entregue', 'orderStatus.backordered': 'aguardando estoque',
      'orderStatus.delayed': 'atrasado', 'orderStatus.cancelled': 'cancelado', 'orderStatus.returned': 'devolvido',
      'invoiceStatus.paid': 'paga', 'invoiceStatus.void': 'anulada', 'invoiceStatus.refunded': 'reembolsada',
      'invoiceStatus.partially_refunded': 'reembolsada em parte',
      'paymentKind.authorization': 'autorização', 'paymentKind.capture': 'cobrança', 'paymentKind.refund': 'reembolso',
      'paymentStatus.pending': 'pendente', 'paymentStatus.succeeded': 'concluído', 'paymentStatus.failed': 'recusado', 'paymentStatus.voided': 'anulado',
      'paymentStatus.authorization.succeeded': 'concluída', 'paymentStatus.authorization.failed': 'recusada', 'paymentStatus.authorization.voided': 'anulada',
      'paymentStatus.capture.succeeded': 'concluída', 'paymentStatus.capture.failed': 'recusada', 'paymentStatus.capture.voided': 'anulada',
      'refundStatus.requested': 'solicitado', 'refundStatus.approved': 'aprovado', 'refundStatus.processing': 'em processamento',
      'refundStatus.issued': 'emitido', 'refundStatus.rejected': 'recusado',
      'method.card': 'cartão', 'method.gift_card': 'cartão-presente', 'method.store_credit': 'crédito na loja',
      'explanation.pending_hold': 'A autorização pendente é uma reserva temporária, não uma segunda cobrança.',
      'explanation.duplicate_capture': 'Você foi cobrado duas vezes por este pedido.',
    },
  };
  // The page's language (data-locale, else the browser's), by its primary subtag: "pt-BR" → pt.
  const primary = LOCALE.split(/[-_]/)[0].toLowerCase();
  const LANG = Object.prototype.hasOwnProperty.call(STRINGS, primary) ? primary : 'en';
  /** The widget's words for `key`, with `{name}` placeholders filled from `vars`. */
  function t(key, vars) {
    const text = STRINGS[LANG][key] ?? STRINGS.en[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (m, name) => (vars && name in vars ? String(vars[name]) : m));
  }
  /** An API value ("in_transit") as named by the first of `groups` that names it, else humanized. */
  function word(value, ...groups) {
    for (const group of groups) {
      const key = `${group}.${value}`;
      const text = STRINGS[LANG][key] ?? STRINGS.en[key];
      if (text) return humanize(text);
    }
    return humanize(value);
  }

  // ---------------------------------------------------------------- state
  let session = loadSession(); // {conversation_id, token, last_seq}
  let creating = null;         // in-flight conversation creation (shared promise)
  let es = null;               // conversation EventSource
  let retryTimer = null;
  let backoff = 1000;
  let failures = 0;
  let busy = false;            // a message turn is in flight
  let typing = null;           // the streamed assistant bubble
  let mode = 'ai';
  let handoff = null;          // latest Handoff
  let agentName = null;        // set when an agent message arrives
  let historyLoaded = false;
  const byId = new Map();      // message id -> element
  const idBySeq = new Map();   // seq -> id of the message shown with it
  const seenSeq = new Set();
  const pending = [];          // optimistic customer bubbles: {el, text}

  function loadSession() {
    try {
      const s = JSON.parse(localStorage.getItem(STORE_KEY) || 'null');
      if (s && s.conversation_id && s.token) return { last_seq: 0, ...s };
    } catch { /* storage unavailable or corrupt */ }
    return null;
  }
  function saveSession() {
    try {
      if (session) localStorage.setItem(STORE_KEY, JSON.stringify(session));
      else localStorage.removeItem(STORE_KEY);
    } catch { /* ignore */ }
  }

  // ---------------------------------------------------------------- DOM helpers
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }
  function svgIcon(d) {
    const NS = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('width', '26');
    svg.setAttribute('height', '26');
    svg.setAttribute('aria-hidden', 'true');
    const path = document.createElementNS(NS, 'path');
    path.setAttribute('d', d);
    path.setAttribute('fill', 'currentColor');
    svg.append(path);
    return svg;
  }
  /** Only absolute http(s) URLs become links. */
  function safeUrl(u) {
    try {
      const url = new URL(String(u));
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
    } catch { return null; }
  }
  const humanize = (s) => String(s ?? '').replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
  function money(n, currency) {
    if (typeof n !== 'number') return n ?? '';
    try {
      return new Intl.NumberFormat(LOCALE, { style: 'currency', currency: currency || 'USD' }).format(n);
    } catch { return n.toFixed(2); }
  }
  function fmtDate(s) {
    if (!s) return '';
    const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(s);
    const d = new Date(dateOnly ? `${s}T12:00:00Z` : s);
    if (isNaN(d)) return String(s);
    try {
      return d.toLocaleDateString(LOCALE, { year: 'numeric', month: 'short', day: 'numeric', timeZone: dateOnly ? 'UTC' : undefined });
    } catch { return String(s); }
  }

  // ---------------------------------------------------------------- styles
  const CSS = `
    :host { all: initial; }
    * { box-sizing: border-box; }
    .fd { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2933; }
    button { font: inherit; cursor: pointer; }
    button:disabled { cursor: not-allowed; opacity: .55; }
    :focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
    #fd-launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; width: 58px; height: 58px;
      border-radius: 50%; border: 0; background: #0f5f5a; color: #fff; display: grid; place-items: center;
      box-shadow: 0 6px 20px rgba(0,0,0,.25); transition: transform .15s; }
    #fd-launcher:hover { transform: scale(1.06); }
    #fd-launcher .fd-dot { position: absolute; top: 4px; right: 4px; width: 12px; height: 12px; border-radius: 50%;
      background: #ef4444; border: 2px solid #fff; }
    #fd-panel { position: fixed; right: 20px; bottom: 90px; z-index: 2147483001; width: 380px; height: 580px;
      max-height: calc(100vh - 110px); background: #fff; border-radius: 14px; display: flex; flex-direction: column;
      box-shadow: 0 12px 40px rgba(0,0,0,.28); overflow: hidden; }
    #fd-panel[hidden] { display: none; }
    .fd-head { display: flex; align-items: center; gap: 8px; padding: 12px 14px; background: #0f5f5a; color: #fff; }
    .fd-head h2 { flex: 1; margin: 0; font-size: 16px; font-weight: 600; }
    .fd-close { background: transparent; border: 0; color: #fff; font-size: 22px; line-height: 1; padding: 2px 8px; border-radius: 6px; }
    #fd-status { padding: 6px 14px; font-size: 13px; background: #fef3c7; color: #78350f; }
    #fd-status:empty { display: none; }
    #fd-status.fd-error { background: #fee2e2; color: #991b1b; }
    #fd-messages { flex: 1; overflow-y: auto; padding: 14px; display: flex; flex-direction: column; gap: 10px; background: #f6f7f9; }
    .fd-welcome { color: #52606d; font-size: 13px; text-align: center; margin: 4px 0; }
    .fd-msg { max-width: 88%; padding: 9px 12px; border-radius: 12px; background: #fff; border: 1px solid #e4e7eb; }
    .fd-text { white-space: pre-wrap; overflow-wrap: anywhere; }
    .fd-customer { align-self: flex-end; background: #0f5f5a; border-color: #0f5f5a; color: #fff; }
    .fd-pending { opacity: .7; }
    .fd-failed { opacity: 1; background: #fff; color: #991b1b; border-color: #fca5a5; }
    .fd-agent { border-color: #93c5fd; background: #eff6ff; }
    .fd-system { align-self: center; background: transparent; border: 0; color: #52606d; font-size: 12px; text-align: center; }
    .fd-author { font-size: 12px; font-weight: 600; color: #1d4ed8; margin-bottom: 2px; }
    .fd-note { font-size: 12px; margin-top: 4px; }
    .fd-dots > span:not(.fd-sr) { display: inline-block; width: 6px; height: 6px; margin-right: 3px; border-radius: 50%; background: #9aa5b1;
      animation: fd-blink 1s infinite; }
    .fd-dots span:nth-child(2) { animation-delay: .2s; } .fd-dots span:nth-child(3) { animation-delay: .4s; }
    @keyframes fd-blink { 0%, 100% { opacity: .25; } 50% { opacity: 1; } }
    .fd-citations { margin-top: 6px; font-size: 12px; color: #52606d; }
    .fd-citations a { color: #0f5f5a; margin-right: 8px; }
    .fd-feedback { display: flex; align-items: center; gap: 4px; margin-top: 6px; font-size: 12px; color: #52606d; }
    .fd-feedback button { border: 1px solid #d2d6dc; background: #fff; border-radius: 6px; padding: 1px 7px; }
    .fd-feedback button[aria-pressed="true"] { background: #d1fae5; border-color: #059669; }
    .fd-card { margin-top: 8px; border: 1px solid #d2d6dc; border-radius: 10px; padding: 8px 10px; background: #fafbfc; font-size: 13px; }
    .fd-card-head { display: flex; justify-content: space-between; font-weight: 600; margin-bottom: 4px; }
    .fd-ok { color: #047857; font-size: 11px; } .fd-bad { color: #b91c1c; font-size: 11px; }
    .fd-card table { border-collapse: collapse; width: 100%; }
    .fd-card th { text-align: left; font-weight: 500; color: #52606d; padding: 2px 8px 2px 0; vertical-align: top; white-space: nowrap; }
    .fd-card td { padding: 2px 0; overflow-wrap: anywhere; }
    .fd-card ul { margin: 2px 0; padding-left: 18px; }
    .fd-card p { margin: 4px 0; }
    .fd-subcard { margin-top: 6px; padding: 6px 8px; border: 1px solid #e4e7eb; border-radius: 8px; background: #fff; }
    .fd-foot { border-top: 1px solid #e4e7eb; padding: 8px 10px; display: flex; flex-direction: column; gap: 6px; }
    #fd-human { align-self: flex-start; border: 1px solid #0f5f5a; color: #0f5f5a; background: #fff; border-radius: 999px; padding: 3px 12px; font-size: 13px; }
    .fd-row { display: flex; gap: 8px; align-items: flex-end; }
    #fd-input { flex: 1; resize: none; font: inherit; padding: 8px 10px; border: 1px solid #9aa5b1; border-radius: 10px; max-height: 120px; min-height: 38px; }
    #fd-send { background: #0f5f5a; color: #fff; border: 0; border-radius: 10px; padding: 8px 14px; font-weight: 600; }
    .fd-sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
    @media (max-width: 480px) {
      #fd-panel { inset: 0; width: 100vw; height: 100vh; height: 100dvh; max-height: none; border-radius: 0; }
    }
    @media (prefers-reduced-motion: reduce) { * { animation: none !important; transition: none !important; } }
  `;

  // ---------------------------------------------------------------- build UI
  const host = el('div', { id: 'frontdesk-widget', lang: LANG });
  const root = host.attachShadow({ mode: 'open' });
  const launcherDot = el('span', { class: 'fd-dot', hidden: true });
  const launcher = el('button', { id: 'fd-launcher', type: 'button', 'aria-label': t('open'), 'aria-expanded': 'false',
    'aria-controls': 'fd-panel', onclick: () => (panel.hidden ? open() : close()) },
  svgIcon('M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z'),
  launcherDot);
  const statusEl = el('div', { id: 'fd-status', role: 'status', 'aria-live': 'polite' });
  const list = el('div', { id: 'fd-messages', role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions', tabindex: '0', 'aria-label': t('messages') },
    el('p', { class: 'fd-welcome' }, t('welcome')));
  const input = el('textarea', { id: 'fd-input', rows: '1', maxlength: String(MAX_CHARS), placeholder: t('placeholder'), autocomplete: 'off' });
  const sendBtn = el('button', { id: 'fd-send', type: 'submit' }, t('send'));
  const humanBtn = el('button', { id: 'fd-human', type: 'button', onclick: requestHuman }, t('person'));
  const form = el('form', { class: 'fd-row', onsubmit: (e) => { e.preventDefault(); send(input.value); } },
    el('label', { for: 'fd-input', class: 'fd-sr' }, t('yourMessage')), input, sendBtn);
  const panel = el('div', { id: 'fd-panel', class: 'fd', role: 'dialog', 'aria-label': t('title'), hidden: true },
    el('div', { class: 'fd-head' },
      el('h2', {}, t('title')),
      el('button', { class: 'fd-close', type: 'button', 'aria-label': t('close'), onclick: () => close() }, '×')),
    statusEl, list, el('div', { class: 'fd-foot' }, humanBtn, form));
  root.append(el('style', {}, CSS), el('div', { class: 'fd' }, launcher), panel);

  input.addEventListener('keydown', (e) => {
    // Enter sends; Shift+Enter inserts a newline.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(input.value); }
  });
  input.addEventListener('input', () => {
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight, 120)}px`;
  });
  root.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !panel.hidden) { e.stopPropagation(); close(); }
  });

  function open() {
    panel.hidden = false;
    launcher.setAttribute('aria-expanded', 'true');
    launcher.setAttribute('aria-label', t('close'));
    launcherDot.hidden = true;
    input.focus();
    scrollDown();
    ensureConversation().catch(showError);
  }
  function close() {
    panel.hidden = true;
    launcher.setAttribute('aria-expanded', 'false');
    launcher.setAttribute('aria-label', t('open'));
    launcher.focus();
  }
  const scrollDown = () => { list.scrollTop = list.scrollHeight; };
  function updateControls() {
    sendBtn.disabled = busy;
    const withPerson = mode === 'human' || (handoff && (handoff.status === 'waiting' || handoff.status === 'claimed'));
    humanBtn.disabled = Boolean(withPerson);
  }

  // ---------------------------------------------------------------- status line
  function showError(err) {
    statusEl.className = 'fd-error';
    statusEl.textContent = (err && err.message) || String(err || t('wrong'));
  }
  function refreshStatus() {
    let text = '';
    const active = handoff && (handoff.status === 'waiting' || handoff.status === 'claimed');
    // Whoever holds the handoff now; else the author of the latest agent message (an agent may
    // write before the handoff's status catches up, or without one).
    const closed = handoff && (handoff.status === 'resolved' || handoff.status === 'released');
    if (active && handoff.status === 'claimed' && handoff.claimed_by) text = t('joined', { name: handoff.claimed_by });
    // Closed while the customer watched: who left, and who answers now.
    else if (closed && mode === 'human') text = t('personSoon');
    else if (closed) text = handoff.claimed_by ? `${t('left', { name: handoff.claimed_by })} ${t('back')}` : t('back');
    else if (agentName && (active || mode === 'human')) text = t('joined', { name: agentName });
    else if (active && handoff.status === 'waiting') text = t('waiting');
    else if (active) text = t('joined', { name: t('anAgent') });
    else if (mode === 'human') text = t('personSoon');
    statusEl.className = '';
    statusEl.textContent = text;
    updateControls();
  }
  function setHandoff(h) {
    if (!h || typeof h !== 'object') return;
    if (h.status === 'waiting') agentName = null; // a new request: nobody has joined yet
    handoff = h;
    if (h.status === 'waiting' || h.status === 'claimed') mode = 'human';
    refreshStatus();
  }

  // ---------------------------------------------------------------- API
  const OFFLINE = t('offline');
  async function apiError(res) {
    const err = new Error(t('requestFailed', { status: res.status }));
    err.status = res.status;
    try {
      const body = await res.json();
      if (body && body.error) { err.code = body.error.code; err.message = body.error.message || err.message; }
    } catch { /* not JSON */ }
    return err;
  }
  async function api(path, { method = 'GET', body, accept } = {}) {
    const headers = { Authorization: `Bearer ${session.token}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (accept) headers.Accept = accept;
    let res;
    try {
      res = await fetch(ORIGIN + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      // The browser's own wording ("Failed to fetch") means nothing to a customer.
      throw new Error(OFFLINE);
    }
    if (!res.ok) throw await apiError(res);
    return res;
  }
  const convPath = (suffix) => `/v1/conversations/${encodeURIComponent(session.conversation_id)}${suffix}`;

  function ensureConversation() {
    if (session) return Promise.resolve(session);
    if (!creating) {
      creating = (async () => {
        const res = await fetch(`${ORIGIN}/v1/conversations`, { method: 'POST',
          headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ channel: CHANNEL, locale: LOCALE }) })
          .catch(() => { throw new Error(OFFLINE); });
        if (!res.ok) throw await apiError(res);
        const c = await res.json();
        session = { conversation_id: c.conversation_id, token: c.token, last_seq: 0 };
        saveSession();
        mode = c.mode || 'ai';
        historyLoaded = true;
        refreshStatus();
        connectStream();
        return session;
      })().finally(() => { creating = null; });
    }
    return creating;
  }
  /** The stored conversation is gone or its token is no longer valid: start over lazily. */
  function resetSession() {
    if (es) { es.close(); es = null; }
    clearTimeout(retryTimer);
    session = null;
    saveSession();
  }

  /** Where to resume: the last message we hold again, in case its number came back with another
   *  message (a reply lost in a power cut), which then takes its place. */
  function since() {
    return Math.max(0, session.last_seq - 1);
  }

  /** Fetch messages we may have missed (after the last contiguous seq) and render them. */
  async function catchUp() {
    if (!session) return;
    try {
      const res = await api(convPath(`/messages?after=${since()}`));
      const body = await res.json();
      for (const m of body.messages || []) render(m);
    } catch (err) {
      if ([401, 403, 404].includes(err.status)) resetSession();
    }
  }

  // ---------------------------------------------------------------- conversation stream
  function connectStream() {
    if (!session || es) return;
    clearTimeout(retryTimer);
    const url = `${ORIGIN}${convPath('/stream')}?access_token=${encodeURIComponent(session.token)}&after=${since()}`;
    const source = new EventSource(url);
    es = source;
    source.onopen = () => { backoff = 1000; failures = 0; };
    source.addEventListener('message', (e) => { const m = parse(e.data); if (m) render(m); });
    source.addEventListener('status', (e) => {
      const s = parse(e.data);
      if (!s) return;
      if (s.mode) mode = s.mode;
      if (s.handoff) setHandoff(s.handoff);
      else { handoff = null; refreshStatus(); }
    });
    // Sent only when the stream could not read what it missed from the store.
    source.addEventListener('resync', () => { catchUp(); });
    // We manage reconnection ourselves (instead of EventSource's own retry) so that
    // we back off exponentially and resume from since().
    source.onerror = () => {
      source.close();
      if (es !== source) return;
      es = null;
      failures += 1;
      // After repeated failures, check with a plain request whether the token still works.
      if (failures >= 3) catchUp();
      retryTimer = setTimeout(connectStream, backoff);
      backoff = Math.min(backoff * 2, 30000);
    };
  }
  function parse(data) {
    try { return JSON.parse(data); } catch { return null; }
  }

  /** Read an SSE body from fetch(): blocks separated by blank lines, `event:` and `data:` fields. */
  async function readSse(body, onEvent) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let cut;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        let event = 'message';
        const data = [];
        for (const line of block.split('\n')) {
          if (!line || line.startsWith(':')) continue;
          const i = line.indexOf(':');
          const field = i < 0 ? line : line.slice(0, i);
          let val = i < 0 ? '' : line.slice(i + 1);
          if (val.startsWith(' ')) val = val.slice(1);
          if (field === 'event') event = val;
          else if (field === 'data') data.push(val);
        }
        if (data.length) onEvent(event, parse(data.join('\n')) || {});
      }
    }
  }

  // ---------------------------------------------------------------- sending
  async function send(raw) {
    const text = String(raw || '').trim();
    if (!text || busy) return;
    if ([...text].length > MAX_CHARS) { showError(t('tooLong', { max: MAX_CHARS })); return; }
    input.value = '';
    input.style.height = '';
    const bubble = el('div', { class: 'fd-msg fd-customer fd-pending' }, el('div', { class: 'fd-text' }, text));
    const item = { el: bubble, text };
    pending.push(item);
    list.append(bubble);
    scrollDown();
    busy = true;
    updateControls();
    try {
      await ensureConversation();
      await postMessage(text, item);
    } catch (err) {
      if (err.status) {
        failPending(item, err); // the server refused it: the text goes back to be sent again
        if (!input.value) input.value = text;
      }
      else { await catchUp(); if (pending.includes(item)) failPending(item, err); }
      showError(err);
    } finally {
      removeTyping();
      busy = false;
      updateControls();
    }
  }
  function failPending(item, err) {
    const i = pending.indexOf(item);
    if (i >= 0) pending.splice(i, 1);
    item.el.classList.remove('fd-pending');
    item.el.classList.add('fd-failed');
    item.el.append(el('div', { class: 'fd-note' }, t('notSent', { reason: (err && err.message) || t('networkError') })));
  }

  async function postMessage(text, item) {
    const res = await api(convPath('/messages'), { method: 'POST', accept: 'text/event-stream',
      body: { text, client_message_id: crypto.randomUUID() } });
    if (statusEl.className === 'fd-error') refreshStatus();
    const type = res.headers.get('content-type') || '';
    if (!type.includes('text/event-stream')) {
      // Plain JSON answer: {message, replies, handoff}.
      const body = await res.json();
      if (body.message) render(body.message);
      (body.replies || []).forEach(render);
      if (body.handoff) setHandoff(body.handoff);
      return;
    }
    if (mode !== 'human') showTyping(); // with a person, there is no AI reply to wait for
    let finished = false;
    try {
      await readSse(res.body, (event, data) => {
        if (event === 'delta') appendDelta(data.text);
        else if (event === 'reply') render(data);
        else if (event === 'handoff') setHandoff(data);
        else if (event === 'error') { removeTyping(); showError(data); }
        else if (event === 'done') finished = true;
      });
    } catch { /* stream broke: recovered below */ }
    removeTyping();
    // If the stream broke before `done`, or our own message hasn't come back with its
    // seq yet, fetch what we missed from the last seq we know.
    if (!finished || pending.includes(item)) await catchUp();
  }

  function showTyping() {
    removeTyping();
    typing = el('div', { class: 'fd-msg fd-assistant fd-typing', 'aria-busy': 'true' },
      el('div', { class: 'fd-text' }),
      el('span', { class: 'fd-dots' }, el('span'), el('span'), el('span'), el('span', { class: 'fd-sr' }, t('typing'))));
    list.append(typing);
    scrollDown();
  }
  function appendDelta(text) {
    if (!text) return;
    if (!typing) showTyping();
    typing.querySelector('.fd-text').textContent += text;
    const dots = typing.querySelector('.fd-dots');
    if (dots) dots.remove();
    scrollDown();
  }
  function removeTyping() {
    if (typing) { typing.remove(); typing = null; }
  }

  async function requestHuman() {
    humanBtn.disabled = true;
    try {
      await ensureConversation();
      const res = await api(convPath('/handoff'), { method: 'POST', body: { reason: 'customer_request' } });
      setHandoff(await res.json());
    } catch (err) {
      showError(err);
      updateControls();
    }
  }

  async function sendFeedback(messageId, rating, box) {
    const buttons = box.querySelectorAll('button');
    buttons.forEach((b) => { b.disabled = true; });
    try {
      await api(convPath('/feedback'), { method: 'POST', body: { rating, message_id: messageId } });
      box.querySelector(rating === 'up' ? '.fd-up' : '.fd-down').setAttribute('aria-pressed', 'true');
      box.querySelector('.fd-fb-note').textContent = t('feedbackSaved');
    } catch (err) {
      buttons.forEach((b) => { b.disabled = false; });
      box.querySelector('.fd-fb-note').textContent = t('feedbackFailed', { reason: err.message });
    }
  }

  // ---------------------------------------------------------------- rendering
  /** Render a Message once (by id), in seq order. Safe to call repeatedly. */
  function render(m) {
    if (!m || typeof m !== 'object' || typeof m.seq !== 'number') return;
    markSeen(m.seq);
    if (byId.has(m.id)) return;
    // A number that comes back with another message: the one shown with it was lost (a reply
    // whose write a power cut undid), and this one takes its place.
    const lost = idBySeq.get(m.seq);
    if (lost !== undefined) { byId.get(lost).remove(); byId.delete(lost); }
    let node;
    if (m.role === 'customer') {
      // Our own optimistic bubble comes back with its seq: adopt it rather than add a copy.
      const i = pending.findIndex((p) => p.text === String(m.text).trim());
      if (i >= 0) {
        node = pending[i].el;
        pending.splice(i, 1);
        node.classList.remove('fd-pending');
        node.remove();
      }
    } else if (m.role === 'assistant') {
      removeTyping(); // the final reply replaces the streamed bubble
    }
    node = node || buildMessage(m);
    node.dataset.seq = String(m.seq);
    node.dataset.id = m.id;
    byId.set(m.id, node);
    idBySeq.set(m.seq, m.id);
    place(node, m.seq);
    if (m.role === 'agent') {
      mode = 'human';
      const name = m.author || t('anAgent');
      if (name !== agentName) { agentName = name; refreshStatus(); }
    }
    if (historyLoaded && panel.hidden && m.role !== 'customer') launcherDot.hidden = false;
    scrollDown();
  }
  /** Insert before the first message with a higher seq, or before unsequenced (pending/typing) bubbles. */
  function place(node, seq) {
    const next = [...list.children].find((c) => c !== node && (c.dataset.seq
      ? Number(c.dataset.seq) > seq
      : c.classList.contains('fd-pending') || c.classList.contains('fd-typing')));
    list.insertBefore(node, next || null);
  }
  function markSeen(seq) {
    seenSeq.add(seq);
    if (!session) return;
    // last_seq is the highest seq with no gap below it, so resuming never skips a message.
    let last = session.last_seq;
    while (seenSeq.has(last + 1)) last += 1;
    if (last !== session.last_seq) { session.last_seq = last; saveSession(); }
  }

  function buildMessage(m) {
    const role = ['customer', 'assistant', 'agent', 'system'].includes(m.role) ? m.role : 'system';
    const node = el('div', { class: `fd-msg fd-${role}` });
    if (role === 'agent') node.append(el('div', { class: 'fd-author' }, m.author || t('supportAgent')));
    node.append(el('div', { class: 'fd-text' }, m.text ?? ''));
    if (role === 'assistant') {
      for (const action of Array.isArray(m.actions) ? m.actions : []) node.append(actionCard(action));
      const cites = Array.isArray(m.citations) ? m.citations : [];
      if (cites.length) {
        const box = el('div', { class: 'fd-citations' }, t('sources'));
        const seen = new Set();
        for (const c of cites) {
          const key = c.article_id || c.url || c.title;
          if (seen.has(key)) continue;
          seen.add(key);
          const href = safeUrl(c.url);
          const label = c.title || c.url || t('article');
          box.append(href
            ? el('a', { href, target: '_blank', rel: 'noopener noreferrer', title: c.snippet || null }, label)
            : el('span', { class: 'fd-source' }, label), ' ');
        }
        node.append(box);
      }
      if (m.id) {
        const box = el('div', { class: 'fd-feedback' });
        box.append(
          el('button', { type: 'button', class: 'fd-up', 'aria-label': t('helpful'), 'aria-pressed': 'false', onclick: () => sendFeedback(m.id, 'up', box) }, '👍'),
          el('button', { type: 'button', class: 'fd-down', 'aria-label': t('notHelpful'), 'aria-pressed': 'false', onclick: () => sendFeedback(m.id, 'down', box) }, '👎'),
          el('span', { class: 'fd-fb-note', 'aria-live': 'polite' }));
        node.append(box);
      }
    }
    return node;
  }

  // ---------------------------------------------------------------- action cards
  /** A two-column table of [label, value] rows; empty values are skipped. */
  function table(rows) {
    const t = el('table');
    for (const [label, value] of rows) {
      if (value === null || value === undefined || value === '') continue;
      t.append(el('tr', {}, el('th', { scope: 'row' }, label), el('td', {}, value)));
    }
    return t;
  }
  function orderBody(o) {
    const s = o.shipping || {};
    const frag = document.createDocumentFragment();
    frag.append(table([
      [t('order'), o.number],
      [t('status'), o.status && word(o.status, 'orderStatus')],
      [t('placed'), fmtDate(o.placed_at)],
      [t('total'), money(o.total, o.currency)],
      [t('carrier'), s.carrier],
      [t('tracking'), s.tracking_number],
      s.delivered_at ? [t('delivered'), fmtDate(s.delivered_at)] : [t('estimatedDelivery'), fmtDate(s.estimated_delivery)],
    ]));
    const items = Array.isArray(o.items) ? o.items : [];
    if (items.length) {
      frag.append(el('ul', { class: 'fd-items' }, items.map((it) =>
        el('li', {}, `${it.quantity ?? 1} × ${it.name ?? t('item')}`, it.unit_price != null ? ` — ${money(it.unit_price, o.currency)}` : ''))));
    }
    return frag;
  }
  function methodText(m) {
    if (!m) return '';
    if (typeof m === 'string') return word(m, 'method');
    const brand = m.brand ? humanize(m.brand) : word(m.type, 'method');
    return m.last4 ? `${brand} •••• ${m.last4}` : brand;
  }
  /** Each action's card body, by action name (titles: STRINGS' "card.<name>"). */
  const CARDS = {
    order_status: orderBody,
    recent_orders: (r) => {
      const orders = Array.isArray(r.orders) ? r.orders : [];
      if (!orders.length) return el('p', {}, t('noRecentOrders'));
      return el('div', {}, orders.map((o) => el('div', { class: 'fd-subcard' }, orderBody(o))));
    },
    billing_lookup: (r) => {
      const inv = r.invoice;
      const pdf = inv && safeUrl(inv.pdf_url);
      const frag = document.createDocumentFragment();
      frag.append(table([
        [t('order'), r.order_number],
        [t('orderTotal'), money(r.total)],
        [t('invoice'), inv ? inv.number : t('notIssued')],
        [t('issued'), inv && fmtDate(inv.issued_at)],
        [t('amount'), inv && money(inv.amount)],
        [t('invoiceStatus'), inv && inv.status && word(inv.status, 'invoiceStatus')],
        [t('pdf'), pdf && el('a', { href: pdf, target: '_blank', rel: 'noopener noreferrer' }, t('download'))],
      ]));
      const pays = Array.isArray(r.payments) ? r.payments : [];
      if (pays.length) {
        frag.append(el('ul', { class: 'fd-payments' }, pays.map((p) => el('li', {},
          [word(p.kind, 'paymentKind'), money(p.amount), p.status && word(p.status, `paymentStatus.${p.kind}`, 'paymentStatus'),
            methodText(p.method), fmtDate(p.created_at)]
            .filter(Boolean).join(' · ')))));
      }
      if (r.explanation) frag.append(el('p', {}, word(r.explanation, 'explanation')));
      return frag;
    },
    refund_status: (r) => {
      const refunds = Array.isArray(r.refunds) ? r.refunds : [];
      const frag = document.createDocumentFragment();
      frag.append(table([[t('order'), r.order_number]]));
      if (!refunds.length) frag.append(el('p', {}, t('noRefunds')));
      for (const f of refunds) {
        frag.append(table([
          [t('refund'), money(f.amount)],
          [t('status'), f.status && word(f.status, 'refundStatus')],
          [t('expectedBy'), fmtDate(f.expected_by)],
          [t('to'), methodText(f.method)],
        ]));
      }
      return frag;
    },
  };
  function actionCard(action) {
    const name = String((action && action.name) || 'action');
    const body = Object.prototype.hasOwnProperty.call(CARDS, name) ? CARDS[name] : null;
    const ok = Boolean(action && action.ok);
    // Details that match no record are an answer, not a fault of ours.
    const noMatch = !ok && Boolean(action && action.result && action.result.error === 'not_found');
    const card = el('div', { class: 'fd-card', 'data-action': name, 'data-ok': String(ok) },
      el('div', { class: 'fd-card-head' },
        el('span', {}, word(name, 'card')),
        el('span', { class: ok ? 'fd-ok' : 'fd-bad' }, t(ok ? 'ok' : noMatch ? 'noMatch' : 'failed'))));
    if (noMatch) card.append(el('p', {}, t('noRecord')));
    else if (!ok) card.append(el('p', {}, t('lookupFailed')));
    else if (body && action.result && typeof action.result === 'object') {
      try { card.append(body(action.result)); } catch { /* unexpected shape: keep the header */ }
    }
    return card;
  }

  // ---------------------------------------------------------------- start
  /** Resume a stored conversation: render its history, then follow it live. */
  async function resume() {
    try {
      const res = await api(convPath('/messages?after=0'));
      const body = await res.json();
      for (const m of body.messages || []) render(m);
    } catch (err) {
      if ([401, 403, 404].includes(err.status)) { resetSession(); historyLoaded = true; return; }
    }
    historyLoaded = true;
    connectStream();
  }

  function mount() {
    document.body.append(host);
    if (session) resume(); else historyLoaded = true;
    updateControls();
  }
  if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount, { once: true });

  window.FrontdeskWidget = { root, open, close };
})();
