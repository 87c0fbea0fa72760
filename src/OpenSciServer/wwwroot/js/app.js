// Small progressive enhancements for the statically rendered dashboard.
// Parts of pages meant only for browsers with (or without) scripts are marked js-only / no-js-only.
document.documentElement.classList.add('js');

document.addEventListener('click', (event) => {
  const copy = event.target.closest('[data-copy-target]');
  if (copy) {
    const source = document.querySelector(copy.getAttribute('data-copy-target'));
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.textContent.trim()).then(() => {
        const label = copy.querySelector('.copy-label');
        if (label) { label.textContent = 'Copied'; }
      });
    }
  }
  // A server-rendered dialog (?act=...) closes by its link; a click beside it does the same.
  const dialog = event.target.closest('[data-dialog-close]');
  if (dialog && (event.target === dialog || event.target === dialog.firstElementChild)) {
    window.location.assign(new URL(dialog.getAttribute('data-dialog-close'), document.baseURI));
    return;
  }
  const confirmButton = event.target.closest('[data-confirm]');
  if (confirmButton && !window.confirm(confirmButton.getAttribute('data-confirm'))) {
    event.preventDefault();
  }
});

document.addEventListener('keydown', (event) => {
  const dialog = document.querySelector('[data-dialog-close]');
  if (event.key === 'Escape' && dialog) {
    window.location.assign(new URL(dialog.getAttribute('data-dialog-close'), document.baseURI));
  }
});

// Home's activity figures and the Groups badge follow the server while the page stays open, so a new
// invitation shows up without a reload. Without JavaScript the server-rendered numbers stand.
(() => {
  if (!document.querySelector('[data-activity-live]') || !window.fetch) { return; }
  const everyMs = 20000;
  const url = new URL('api/activity', document.baseURI);

  const setBadge = (link, value) => {
    let badge = link.querySelector('[data-activity-badge]');
    if (value <= 0) {
      if (badge) { badge.remove(); }
      return;
    }
    if (!badge) {
      badge = document.createElement('span');
      badge.className = 'badge rounded-pill text-bg-warning ms-1 nav-badge';
      badge.setAttribute('data-activity-badge', '');
      badge.setAttribute('data-testid', 'nav-badge-' + link.getAttribute('data-activity-nav'));
      const hidden = (text) => {
        const span = document.createElement('span');
        span.className = 'visually-hidden';
        span.textContent = text;
        return span;
      };
      const count = document.createElement('span');
      count.setAttribute('data-activity-count', '');
      badge.append(hidden(': '), count, hidden(' ' + (link.getAttribute('data-activity-label') || '')));
      link.append(badge);
    }
    badge.querySelector('[data-activity-count]').textContent = String(value);
  };

  const apply = (counts) => {
    document.querySelectorAll('[data-activity-key]').forEach((el) => {
      const value = counts[el.getAttribute('data-activity-key')];
      if (typeof value === 'number' && el.textContent !== String(value)) { el.textContent = String(value); }
    });
    document.querySelectorAll('[data-activity-nav]').forEach((link) => {
      const value = counts[link.getAttribute('data-activity-nav')];
      if (typeof value === 'number') { setBadge(link, value); }
    });
  };

  let timer = 0;
  const refresh = async () => {
    if (document.hidden) { return; }
    try {
      const response = await fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store', redirect: 'error' });
      if (response.status === 401 || response.status === 403) {
        // Logged out (here or in another tab): stop asking; the next navigation goes to the login page.
        window.clearInterval(timer);
        return;
      }
      if (response.ok) { apply(await response.json()); }
    } catch {
      // Offline for a moment or a redirect; the next tick tries again.
    }
  };

  timer = window.setInterval(refresh, everyMs);
  document.addEventListener('visibilitychange', () => { if (!document.hidden) { refresh(); } });
})();
