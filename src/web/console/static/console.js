// The triage console's only script (served from /console/static/, the Content-Security-Policy
// allows no other): keeps the page's live regions current over Server-Sent Events, ticks SLA
// countdowns, shows a banner when the open ticket changes, and binds the keyboard shortcuts.
// Every page works without it. Written for this project; no library.
'use strict';

(function () {
  const banner = document.getElementById('banner');

  function say(text) {
    banner.textContent = text;
    banner.hidden = false;
  }

  // Live regions: on each change event, fetch this page again and swap every element marked
  // data-live for its fresh copy (parsed, never executed). A region with data-version tells
  // the viewer when its version moved: the ticket changed under them.
  let fetching = false;
  let again = false;
  async function refresh() {
    if (fetching) { again = true; return; }
    fetching = true;
    try {
      const response = await fetch(location.href, { credentials: 'same-origin' });
      if (!response.ok) {
        if (document.querySelector('[data-version]')) {
          say('This ticket is no longer open to you: it was resolved, released or moved.');
        }
        return;
      }
      const fresh = new DOMParser().parseFromString(await response.text(), 'text/html');
      for (const region of document.querySelectorAll('[data-live]')) {
        const replacement = fresh.getElementById(region.id);
        if (!replacement) continue;
        const before = region.dataset.version;
        if (before !== undefined && replacement.dataset.version !== before) {
          say('This ticket changed while you had it open (a follow-up, a new holder or a reroute). Read it again before you reply.');
        }
        region.replaceWith(document.importNode(replacement, true));
      }
      tick();
    } finally {
      fetching = false;
      if (again) { again = false; refresh(); }
    }
  }

  const source = document.body.dataset.events;
  if (source && 'EventSource' in window) {
    const events = new EventSource(source);
    events.addEventListener('change', refresh);
  }

  // SLA countdowns.
  function span(ms) {
    const minutes = Math.floor(Math.max(ms, 0) / 60000);
    const days = Math.floor(minutes / 1440);
    const hours = Math.floor(minutes / 60) % 24;
    const rest = minutes % 60;
    if (days > 0) return days + 'd ' + hours + 'h';
    if (hours > 0) return hours + 'h ' + String(rest).padStart(2, '0') + 'm';
    return rest + 'm';
  }
  function tick() {
    const now = Date.now();
    for (const time of document.querySelectorAll('time[data-due]')) {
      const due = Number(time.dataset.due);
      time.textContent = due >= now ? 'due in ' + span(due - now) : 'overdue by ' + span(now - due);
      time.classList.toggle('breach', due < now);
    }
  }
  setInterval(tick, 30000);

  // Canned replies: ";code" followed by Space or Tab in the reply becomes the queue's text.
  const reply = document.getElementById('reply');
  if (reply) {
    reply.addEventListener('keydown', (event) => {
      if (event.key !== ' ' && event.key !== 'Tab') return;
      const before = reply.value.slice(0, reply.selectionStart);
      const typed = /;([\p{L}\p{N}_-]+)$/u.exec(before);
      if (!typed) return;
      const canned = [...document.querySelectorAll('[data-canned]')]
        .find((item) => item.dataset.canned === typed[1]);
      if (!canned) return;
      event.preventDefault();
      const start = before.length - typed[0].length;
      reply.setRangeText(canned.textContent, start, reply.selectionStart, 'end');
    });
  }

  // Keyboard shortcuts: an element with data-key="k" is clicked (a button, a link) or
  // focused (a field) when k is pressed outside a text field. The cheat sheet lists them.
  const shortcuts = [
    ['c', 'Claim the next ticket (My queues)'], ['r', 'Write the reply (a ticket)'],
    ['n', 'Write an internal note'], ['s', 'Resolve'], ['e', 'Extend the lease'],
    ['q', 'My queues'], ['l', 'Lead dashboard'], ['?', 'Show or hide these shortcuts'],
    ['Esc', 'Leave a text field'],
  ];
  const list = document.getElementById('shortcut-list');
  for (const [key, what] of shortcuts) {
    const term = document.createElement('dt');
    const kbd = document.createElement('kbd');
    kbd.textContent = key;
    term.appendChild(kbd);
    const description = document.createElement('dd');
    description.textContent = what;
    list.append(term, description);
  }
  const sheet = document.getElementById('shortcuts');
  const toggle = document.querySelector('[data-toggles="shortcuts"]');
  function showSheet(show) {
    sheet.hidden = !show;
    if (toggle) toggle.setAttribute('aria-expanded', String(show));
  }
  if (toggle) toggle.addEventListener('click', () => showSheet(sheet.hidden));

  document.addEventListener('keydown', (event) => {
    const target = event.target;
    const typing = target.closest && target.closest('input, textarea, select, [contenteditable]');
    if (event.key === 'Escape') {
      if (typing) target.blur();
      showSheet(false);
      return;
    }
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === '?') { showSheet(sheet.hidden); event.preventDefault(); return; }
    const element = document.querySelector('[data-key="' + CSS.escape(event.key) + '"]');
    if (!element || element.disabled) return;
    event.preventDefault();
    if (element.matches('input, textarea, select')) element.focus();
    else element.click();
  });
})();
