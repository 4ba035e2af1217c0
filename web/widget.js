/*
 * Frontdesk chat widget.
 *
 *   <script src="https://HOST/widget.js" data-channel="web" data-locale="en-US" defer></script>
 *
 * Adds a launcher button and a chat panel inside a Shadow DOM root. Talks to the
 * Frontdesk API on the script's own origin. Every message is rendered with
 * textContent only (never innerHTML).
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
  const host = el('div', { id: 'frontdesk-widget' });
  const root = host.attachShadow({ mode: 'open' });
  const launcherDot = el('span', { class: 'fd-dot', hidden: true });
  const launcher = el('button', { id: 'fd-launcher', type: 'button', 'aria-label': 'Open chat', 'aria-expanded': 'false',
    'aria-controls': 'fd-panel', onclick: () => (panel.hidden ? open() : close()) },
  svgIcon('M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z'),
  launcherDot);
  const statusEl = el('div', { id: 'fd-status', role: 'status', 'aria-live': 'polite' });
  const list = el('div', { id: 'fd-messages', role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions', tabindex: '0', 'aria-label': 'Messages' },
    el('p', { class: 'fd-welcome' }, 'Hi! Ask us about orders, shipping, returns or anything else.'));
  const input = el('textarea', { id: 'fd-input', rows: '1', maxlength: String(MAX_CHARS), placeholder: 'Type your message…', autocomplete: 'off' });
  const sendBtn = el('button', { id: 'fd-send', type: 'submit' }, 'Send');
  const humanBtn = el('button', { id: 'fd-human', type: 'button', onclick: requestHuman }, 'Talk to a person');
  const form = el('form', { class: 'fd-row', onsubmit: (e) => { e.preventDefault(); send(input.value); } },
    el('label', { for: 'fd-input', class: 'fd-sr' }, 'Your message'), input, sendBtn);
  const panel = el('div', { id: 'fd-panel', class: 'fd', role: 'dialog', 'aria-label': 'Chat with support', hidden: true },
    el('div', { class: 'fd-head' },
      el('h2', {}, 'Chat with support'),
      el('button', { class: 'fd-close', type: 'button', 'aria-label': 'Close chat', onclick: () => close() }, '×')),
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
    launcher.setAttribute('aria-label', 'Close chat');
    launcherDot.hidden = true;
    input.focus();
    scrollDown();
    ensureConversation().catch(showError);
  }
  function close() {
    panel.hidden = true;
    launcher.setAttribute('aria-expanded', 'false');
    launcher.setAttribute('aria-label', 'Open chat');
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
    statusEl.textContent = (err && err.message) || String(err || 'Something went wrong.');
  }
  function refreshStatus() {
    let text = '';
    const active = handoff && (handoff.status === 'waiting' || handoff.status === 'claimed');
    // Whoever holds the handoff now; else the author of the latest agent message (an agent may
    // write before the handoff's status catches up, or without one).
    const closed = handoff && (handoff.status === 'resolved' || handoff.status === 'released');
    if (active && handoff.status === 'claimed' && handoff.claimed_by) text = `${handoff.claimed_by} joined`;
    // Closed while the customer watched: who left, and who answers now.
    else if (closed && mode === 'human') text = 'A person will reply here shortly.';
    else if (closed) {
      text = handoff.claimed_by
        ? `${handoff.claimed_by} left the chat. The assistant can help again.`
        : 'The assistant can help again.';
    }
    else if (agentName && (active || mode === 'human')) text = `${agentName} joined`;
    else if (active && handoff.status === 'waiting') text = 'Waiting for a person…';
    else if (active) text = 'An agent joined';
    else if (mode === 'human') text = 'A person will reply here shortly.';
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
  const OFFLINE = "We can't reach the chat right now. Check your connection and try again.";
  async function apiError(res) {
    const err = new Error(res.statusText || `Request failed (${res.status})`);
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
    if ([...text].length > MAX_CHARS) { showError(`Your message is too long (at most ${MAX_CHARS} characters).`); return; }
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
    item.el.append(el('div', { class: 'fd-note' }, `Not sent: ${(err && err.message) || 'network error'}`));
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
      el('span', { class: 'fd-dots' }, el('span'), el('span'), el('span'), el('span', { class: 'fd-sr' }, 'Assistant is typing')));
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
      box.querySelector('.fd-fb-note').textContent = 'Thanks, feedback recorded.';
    } catch (err) {
      buttons.forEach((b) => { b.disabled = false; });
      box.querySelector('.fd-fb-note').textContent = `Couldn't send feedback: ${err.message}`;
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
      const name = m.author || 'An agent';
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
    if (role === 'agent') node.append(el('div', { class: 'fd-author' }, m.author || 'Support agent'));
    node.append(el('div', { class: 'fd-text' }, m.text ?? ''));
    if (role === 'assistant') {
      for (const action of Array.isArray(m.actions) ? m.actions : []) node.append(actionCard(action));
      const cites = Array.isArray(m.citations) ? m.citations : [];
      if (cites.length) {
        const box = el('div', { class: 'fd-citations' }, 'Sources: ');
        const seen = new Set();
        for (const c of cites) {
          const key = c.article_id || c.url || c.title;
          if (seen.has(key)) continue;
          seen.add(key);
          const href = safeUrl(c.url);
          const label = c.title || c.url || 'Article';
          box.append(href
            ? el('a', { href, target: '_blank', rel: 'noopener noreferrer', title: c.snippet || null }, label)
            : el('span', { class: 'fd-source' }, label), ' ');
        }
        node.append(box);
      }
      if (m.id) {
        const box = el('div', { class: 'fd-feedback' });
        box.append(
          el('button', { type: 'button', class: 'fd-up', 'aria-label': 'Helpful', 'aria-pressed': 'false', onclick: () => sendFeedback(m.id, 'up', box) }, '👍'),
          el('button', { type: 'button', class: 'fd-down', 'aria-label': 'Not helpful', 'aria-pressed': 'false', onclick: () => sendFeedback(m.id, 'down', box) }, '👎'),
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
      ['Order', o.number],
      ['Status', o.status && humanize(o.status)],
      ['Placed', fmtDate(o.placed_at)],
      ['Total', money(o.total, o.currency)],
      ['Carrier', s.carrier],
      ['Tracking', s.tracking_number],
      s.delivered_at ? ['Delivered', fmtDate(s.delivered_at)] : ['Estimated delivery', fmtDate(s.estimated_delivery)],
    ]));
    const items = Array.isArray(o.items) ? o.items : [];
    if (items.length) {
      frag.append(el('ul', { class: 'fd-items' }, items.map((it) =>
        el('li', {}, `${it.quantity ?? 1} × ${it.name ?? 'Item'}`, it.unit_price != null ? ` — ${money(it.unit_price, o.currency)}` : ''))));
    }
    return frag;
  }
  function methodText(m) {
    if (!m) return '';
    if (typeof m === 'string') return humanize(m);
    const brand = m.brand ? humanize(m.brand) : humanize(m.type || '');
    return m.last4 ? `${brand} •••• ${m.last4}` : brand;
  }
  const CARDS = {
    order_status: { title: 'Order status', body: orderBody },
    recent_orders: {
      title: 'Recent orders',
      body: (r) => {
        const orders = Array.isArray(r.orders) ? r.orders : [];
        if (!orders.length) return el('p', {}, 'No recent orders.');
        return el('div', {}, orders.map((o) => el('div', { class: 'fd-subcard' }, orderBody(o))));
      },
    },
    billing_lookup: {
      title: 'Invoice & payments',
      body: (r) => {
        const inv = r.invoice;
        const pdf = inv && safeUrl(inv.pdf_url);
        const frag = document.createDocumentFragment();
        frag.append(table([
          ['Order', r.order_number],
          ['Order total', money(r.total)],
          ['Invoice', inv ? inv.number : 'Not issued yet'],
          ['Issued', inv && fmtDate(inv.issued_at)],
          ['Amount', inv && money(inv.amount)],
          ['Invoice status', inv && inv.status && humanize(inv.status)],
          ['PDF', pdf && el('a', { href: pdf, target: '_blank', rel: 'noopener noreferrer' }, 'Download invoice')],
        ]));
        const pays = Array.isArray(r.payments) ? r.payments : [];
        if (pays.length) {
          frag.append(el('ul', { class: 'fd-payments' }, pays.map((p) => el('li', {},
            [humanize(p.kind), money(p.amount), p.status && humanize(p.status), methodText(p.method), fmtDate(p.created_at)]
              .filter(Boolean).join(' · ')))));
        }
        if (r.explanation) frag.append(el('p', {}, r.explanation));
        return frag;
      },
    },
    refund_status: {
      title: 'Refund status',
      body: (r) => {
        const refunds = Array.isArray(r.refunds) ? r.refunds : [];
        const frag = document.createDocumentFragment();
        frag.append(table([['Order', r.order_number]]));
        if (!refunds.length) frag.append(el('p', {}, 'No refunds for this order.'));
        for (const f of refunds) {
          frag.append(table([
            ['Refund', money(f.amount)],
            ['Status', f.status && humanize(f.status)],
            ['Expected by', fmtDate(f.expected_by)],
            ['To', methodText(f.method)],
          ]));
        }
        return frag;
      },
    },
  };
  function actionCard(action) {
    const name = String((action && action.name) || 'action');
    const spec = Object.prototype.hasOwnProperty.call(CARDS, name) ? CARDS[name] : null;
    const ok = Boolean(action && action.ok);
    // Details that match no record are an answer, not a fault of ours.
    const noMatch = !ok && Boolean(action && action.result && action.result.error === 'not_found');
    const card = el('div', { class: 'fd-card', 'data-action': name, 'data-ok': String(ok) },
      el('div', { class: 'fd-card-head' },
        el('span', {}, spec ? spec.title : humanize(name)),
        el('span', { class: ok ? 'fd-ok' : 'fd-bad' }, ok ? 'ok' : noMatch ? 'no match' : 'failed')));
    if (noMatch) card.append(el('p', {}, 'No record matches those details.'));
    else if (!ok) card.append(el('p', {}, "We couldn't complete this lookup."));
    else if (spec && action.result && typeof action.result === 'object') {
      try { card.append(spec.body(action.result)); } catch { /* unexpected shape: keep the header */ }
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
