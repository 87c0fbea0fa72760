// The Compute page: the user's Jupyter sessions (like SciServer's container list) with their actions, a
// form for a new one, and warnings before a session stops by itself (end of its lifetime, or idle).
// Everything comes from the native API (/api/compute, /api/files/volumes) with the login cookie; unsafe
// calls carry the antiforgery token of the page's meta tag. Statuses follow the server by polling: every
// 2 s while a session starts or an action is under way, every 15 s otherwise. Names and reasons reach the
// page only through textContent and attributes, never as HTML.

const root = document.querySelector('[data-compute]');
if (root && window.fetch) {
  main(root);
}

function main(page) {
  const FAST_MS = 2000;
  const SLOW_MS = 15000;
  const HIDDEN_MS = 60000;
  // Warnings: the last hour of a lifetime, the last 15 minutes before an idle stop.
  const LIFETIME_WARN_MS = 60 * 60 * 1000;
  const IDLE_WARN_MS = 15 * 60 * 1000;
  const STATUS_CLASSES = { Starting: 'text-bg-warning', Running: 'text-bg-success', Stopped: 'text-bg-secondary', Failed: 'text-bg-danger' };
  const token = (document.querySelector('meta[name="request-verification-token"]') || {}).content || '';
  const userName = page.getAttribute('data-user') || '';
  const $ = (selector) => page.querySelector(selector);

  // ---------------------------------------------------------------- helpers

  class ApiError extends Error {
    constructor(message, status) {
      super(message);
      this.status = status;
    }
  }

  const problem = async (response) => {
    const fallback = `The server answered ${response.status} ${response.statusText || ''}`.trim() + '.';
    let text = '';
    try { text = await response.text(); } catch { return fallback; }
    try {
      const body = JSON.parse(text);
      return body.detail || body.title || body.error || body.message || fallback;
    } catch {
      return text && text.length < 400 && !text.trimStart().startsWith('<') ? text : fallback;
    }
  };

  /** One call to the platform's API (path relative to the site); resolves with the JSON, throws ApiError. */
  const call = async (method, path, body) => {
    const headers = { Accept: 'application/json' };
    if (method !== 'GET') { headers.RequestVerificationToken = token; }
    if (body !== undefined) { headers['Content-Type'] = 'application/json'; }
    let response;
    try {
      response = await fetch(new URL(path, document.baseURI), {
        method, headers, credentials: 'same-origin', cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError('The server could not be reached. Check the connection and try again.', 0);
    }
    if (response.status === 401) {
      throw new ApiError('Your login has ended: reload the page to log in again.', 401);
    }
    if (!response.ok) { throw new ApiError(await problem(response), response.status); }
    if (response.status === 204) { return null; }
    return response.json();
  };

  /** An element with properties, attributes and children (strings become text nodes). */
  const h = (tag, props, ...children) => {
    const element = document.createElement(tag);
    Object.entries(props || {}).forEach(([key, value]) => {
      if (value === null || value === undefined || value === false) { return; }
      if (key === 'class') { element.className = value; } else if (key === 'text') { element.textContent = value; } else if (key.startsWith('on') && typeof value === 'function') {
        element.addEventListener(key.slice(2), value);
      } else { element.setAttribute(key, value === true ? '' : String(value)); }
    });
    element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
    return element;
  };
  const icon = (name, extra) => h('i', { class: `bi bi-${name}${extra ? ` ${extra}` : ''}`, 'aria-hidden': 'true' });
  const enc = encodeURIComponent;

  // The dashboard shows times in UTC, as its server-rendered pages do.
  const utc = (iso) => (iso ? `${new Date(iso).toISOString().replace('T', ' ').slice(0, 16)} UTC` : '—');
  const clock = (iso) => `${new Date(iso).toISOString().slice(11, 16)} UTC`;
  /** "08:00:00", "1.00:00:00" (.NET TimeSpan) → milliseconds. */
  const span = (text) => {
    const m = /^(-)?(?:(\d+)\.)?(\d+):(\d+):(\d+)(?:\.\d+)?$/.exec(text || '');
    if (!m) { return 0; }
    const ms = ((((Number(m[2] || 0) * 24) + Number(m[3])) * 60 + Number(m[4])) * 60 + Number(m[5])) * 1000;
    return m[1] ? -ms : ms;
  };
  const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
  /** A duration for people: "7 days", "8 hours", "1 hour 5 minutes", "40 minutes", "less than a minute". */
  const human = (ms) => {
    const minutes = Math.round(ms / 60000);
    if (minutes < 1) { return 'less than a minute'; }
    if (minutes < 60) { return plural(minutes, 'minute'); }
    const hours = Math.floor(minutes / 60);
    if (hours >= 24 && minutes % (24 * 60) === 0) { return plural(hours / 24, 'day'); }
    const rest = minutes % 60;
    return rest === 0 ? plural(hours, 'hour') : `${plural(hours, 'hour')} ${plural(rest, 'minute')}`;
  };
  const size = (bytes) => {
    const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
    let v = bytes;
    let unit = 0;
    while (v >= 1024 && unit < units.length - 1) { v /= 1024; unit += 1; }
    return `${v.toFixed(1).replace(/\.0$/, '')} ${units[unit]}`;
  };

  const pageError = $('[data-page-error]');
  const showError = (message) => {
    $('[data-page-error-text]').textContent = message;
    pageError.hidden = !message;
  };
  $('[data-page-error-close]').addEventListener('click', () => showError(''));
  const pageMessage = $('[data-page-message]');
  let messageTimer = 0;
  const showMessage = (message) => {
    pageMessage.textContent = message;
    pageMessage.hidden = !message;
    window.clearTimeout(messageTimer);
    if (message) { messageTimer = window.setTimeout(() => { pageMessage.hidden = true; }, 8000); }
  };

  // ---------------------------------------------------------------- state

  const state = {
    sessions: [],
    domains: new Map(),
    busy: new Set(), // ids with an action under way
    rows: new Map(), // id → { row, signature }
    fresh: null, // id of the session just created, highlighted once
    announced: null, // id of the session whose "is starting" message is shown
    loaded: false,
    timer: 0,
    generation: 0, // grows with every action, so a poll sent before it cannot undo what it shows
  };

  // ---------------------------------------------------------------- the list

  const remaining = (iso, now) => (iso ? new Date(iso).getTime() - now : Infinity);
  const canExtend = (s) => s.status === 'Running' && s.expiresAt && s.maxExpiresAt
    && new Date(s.maxExpiresAt).getTime() - new Date(s.expiresAt).getTime() >= 60000;

  const statusCell = (s, now) => {
    const badge = h('span', { class: `badge ${STATUS_CLASSES[s.status] || 'text-bg-light'}`, 'data-testid': 'session-status' }, s.status);
    const lines = [];
    if (s.status === 'Starting') {
      badge.prepend(h('span', { class: 'spinner-border spinner-border-sm me-1', 'aria-hidden': 'true' }));
      // A queued batch job (Slurm) says why it waits: the queue state and the scheduler's reason.
      lines.push(s.statusReason ? `Waiting: ${s.statusReason}` : 'Starting Jupyter…');
    } else if (s.status === 'Running') {
      const parts = [];
      if (s.expiresAt) { parts.push(`stops at ${clock(s.expiresAt)} (in ${human(remaining(s.expiresAt, now))})`); }
      if (s.idleStopAt && remaining(s.idleStopAt, now) < remaining(s.expiresAt, now)) {
        parts.push(`or when idle until ${clock(s.idleStopAt)}`);
      }
      lines.push(parts.join(', '));
    } else if (s.statusReason) {
      lines.push(s.statusReason);
    }
    return h('td', { class: 'status-reason' }, badge,
      lines.filter(Boolean).map((line) => h('div', { class: `small ${s.status === 'Failed' ? 'text-danger-emphasis' : 'text-body-secondary'} mt-1`, 'data-testid': 'session-reason' }, line)));
  };

  const actionButton = (s, name, label, iconName, style, handler, disabled) => h('button', {
    type: 'button',
    class: `btn btn-sm ${style}`,
    'data-testid': `session-${name}`,
    title: label,
    disabled: disabled || state.busy.has(s.id),
    onclick: () => handler(s),
  }, icon(iconName, 'me-1'), label);

  const actionsCell = (s) => {
    const running = s.status === 'Running';
    const active = running || s.status === 'Starting';
    const open = running
      ? h('a', { class: 'btn btn-sm btn-primary', href: s.url, target: '_blank', rel: 'noopener', 'data-testid': 'session-open', title: 'Open Jupyter in a new tab' },
        icon('box-arrow-up-right', 'me-1'), 'Open')
      : h('button', { type: 'button', class: 'btn btn-sm btn-primary', disabled: true, 'data-testid': 'session-open' }, icon('box-arrow-up-right', 'me-1'), 'Open');
    return h('td', { class: 'text-end' }, h('div', { class: 'd-inline-flex flex-wrap justify-content-end gap-1' },
      open,
      active
        ? actionButton(s, 'stop', 'Stop', 'stop-circle', 'btn-outline-secondary', stop)
        : actionButton(s, 'start', 'Start', 'play-circle', 'btn-outline-success', start),
      running ? actionButton(s, 'extend', 'Extend', 'clock-history', 'btn-outline-secondary', extend, !canExtend(s)) : null,
      actionButton(s, 'delete', 'Delete', 'trash', 'btn-outline-danger', remove)));
  };

  const renderRow = (s, now) => h('tr', { 'data-testid': 'session-row', 'data-id': s.id, 'data-name': s.name, 'data-status': s.status },
    h('td', { class: 'text-nowrap small d-none d-md-table-cell', 'data-testid': 'session-created' }, utc(s.createdAt)),
    h('td', { class: 'text-break' }, h('span', { class: 'fw-semibold', 'data-testid': 'session-name' }, s.name),
      h('div', { class: 'small text-body-secondary', 'data-testid': 'session-volumes' },
        [...s.userVolumes.map((v) => `${v.rootVolume}/${v.owner}/${v.name}${v.writable ? '' : ' (read-only)'}`), ...s.dataVolumes.map((v) => `${v.name} (data)`)].join(', '))),
    h('td', { class: 'd-none d-lg-table-cell', 'data-testid': 'session-domain' }, s.domain),
    h('td', { class: 'd-none d-lg-table-cell', 'data-testid': 'session-image' }, s.image),
    statusCell(s, now),
    actionsCell(s));

  const renderList = () => {
    const now = Date.now();
    const body = $('[data-session-rows]');
    const seen = new Set();
    state.sessions.forEach((s, index) => {
      seen.add(s.id);
      // Rows change only when something in them changes (a click is never lost to a redraw).
      const signature = JSON.stringify([s, state.busy.has(s.id), Math.floor(now / 30000)]);
      let entry = state.rows.get(s.id);
      if (!entry || entry.signature !== signature) {
        const row = renderRow(s, now);
        if (entry) { entry.row.replaceWith(row); } else { body.append(row); }
        if (s.id === state.fresh) { row.classList.add('session-new'); state.fresh = null; }
        entry = { row, signature };
        state.rows.set(s.id, entry);
      }
      if (body.children[index] !== entry.row) { body.insertBefore(entry.row, body.children[index] || null); }
    });
    [...state.rows.keys()].filter((id) => !seen.has(id)).forEach((id) => { state.rows.get(id).row.remove(); state.rows.delete(id); });
    // "X is starting" goes once X runs or fails (the row says so).
    const announced = state.sessions.find((s) => s.id === state.announced);
    if (state.announced && (!announced || announced.status !== 'Starting')) {
      state.announced = null;
      showMessage('');
    }
    $('[data-sessions-loading]').hidden = true;
    $('[data-sessions-empty]').hidden = state.sessions.length > 0;
    const starting = state.sessions.filter((s) => s.status === 'Starting').length;
    $('[data-sessions-live]').textContent = starting ? `${plural(starting, 'session')} starting…` : '';
    renderWarnings(now);
  };

  /** Warnings before a running session stops by itself, with Extend where the domain's maximum allows. */
  const renderWarnings = (now) => {
    const box = $('[data-warnings]');
    const items = [];
    state.sessions.filter((s) => s.status === 'Running').forEach((s) => {
      const life = remaining(s.expiresAt, now);
      const idle = remaining(s.idleStopAt, now);
      if (life <= LIFETIME_WARN_MS) {
        const extendable = canExtend(s);
        items.push(h('div', { class: 'alert alert-warning d-flex flex-wrap align-items-center gap-2 py-2', role: 'alert', 'data-testid': 'lifetime-warning', 'data-id': s.id },
          icon('hourglass-split'),
          h('span', { class: 'flex-grow-1', 'data-testid': 'warning-text' },
            `Session '${s.name}' stops at ${clock(s.expiresAt)}, in ${human(life)}: the end of its lifetime.`
            + (extendable ? '' : ` It cannot be extended: ${clock(s.maxExpiresAt)} is its maximum.`) + ' Save your work in a volume.'),
          extendable ? actionButton(s, 'warning-extend', 'Extend', 'clock-history', 'btn-warning', extend) : null));
      }
      if (idle <= IDLE_WARN_MS && idle < life) {
        items.push(h('div', { class: 'alert alert-warning d-flex flex-wrap align-items-center gap-2 py-2', role: 'alert', 'data-testid': 'idle-warning', 'data-id': s.id },
          icon('moon'),
          h('span', { class: 'flex-grow-1', 'data-testid': 'warning-text' },
            `Session '${s.name}' is idle and stops at ${clock(s.idleStopAt)}, in ${human(idle)}, unless you use it.`),
          actionButton(s, 'keep', 'Keep it running', 'cup-hot', 'btn-warning', keepAlive)));
      }
    });
    // Redrawn only when a warning changes, so a click on its button is never lost to a redraw.
    const signature = items.map((item) => `${item.getAttribute('data-testid')}:${item.textContent}:${item.querySelector('button')?.disabled}`).join('|');
    if (signature !== box.getAttribute('data-signature')) {
      box.setAttribute('data-signature', signature);
      box.replaceChildren(...items);
    }
  };

  // ---------------------------------------------------------------- polling

  const schedule = () => {
    window.clearTimeout(state.timer);
    const fast = state.busy.size > 0 || state.sessions.some((s) => s.status === 'Starting');
    state.timer = window.setTimeout(refresh, document.hidden ? HIDDEN_MS : fast ? FAST_MS : SLOW_MS);
  };

  let refreshing = null;
  const refresh = () => {
    if (refreshing) { return refreshing; }
    refreshing = (async () => {
      try {
        // A poll that crossed an action (stop, start...) is asked again rather than shown.
        for (let attempt = 0; ; attempt += 1) {
          const generation = state.generation;
          const sessions = await call('GET', 'api/compute/sessions');
          if (generation === state.generation || attempt >= 5) {
            state.sessions = sessions;
            break;
          }
        }
        state.loaded = true;
        renderList();
        if (pageError.dataset.kind === 'poll') { showError(''); delete pageError.dataset.kind; }
      } catch (error) {
        showError(`Your sessions could not be loaded: ${error.message}`);
        pageError.dataset.kind = 'poll';
      } finally {
        refreshing = null;
        schedule();
      }
    })();
    return refreshing;
  };
  document.addEventListener('visibilitychange', () => { if (!document.hidden) { refresh(); } });

  // ---------------------------------------------------------------- actions

  /** Runs one action on a session: buttons disabled meanwhile, the answer shown, errors in the page. */
  const act = async (s, work, done) => {
    state.generation += 1;
    state.busy.add(s.id);
    renderList();
    try {
      const result = await work();
      if (result && result.id) {
        state.sessions = state.sessions.map((x) => (x.id === result.id ? result : x));
      }
      showError('');
      if (done) { showMessage(done); }
    } catch (error) {
      showError(`${s.name}: ${error.message}`);
    } finally {
      state.generation += 1;
      state.busy.delete(s.id);
      renderList();
      refresh();
    }
  };

  const stop = (s) => act(s, () => call('POST', `api/compute/sessions/${enc(s.id)}/stop`), `Session '${s.name}' stopped.`);
  const start = (s) => act(s, async () => {
    const result = await call('POST', `api/compute/sessions/${enc(s.id)}/start`);
    state.announced = s.id;
    return result;
  }, `Session '${s.name}' is starting.`);
  const extend = (s) => act(s, async () => {
    const result = await call('POST', `api/compute/sessions/${enc(s.id)}/extend`);
    showMessage(`Session '${s.name}' now stops at ${clock(result.expiresAt)}.`);
    return result;
  });
  // Any request through the proxy counts as use.
  const keepAlive = (s) => act(s, async () => {
    const response = await fetch(new URL(`${s.url}api/status`, document.baseURI), { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } });
    if (!response.ok) { throw new ApiError(await problem(response), response.status); }
    return null;
  }, `Session '${s.name}' was used just now; it stays up.`);
  const remove = (s) => {
    if (!window.confirm(`Delete the session '${s.name}'? Its processes stop and its private home folder is removed. Your volumes are not touched.`)) {
      return Promise.resolve();
    }
    return act(s, async () => {
      await call('DELETE', `api/compute/sessions/${enc(s.id)}`);
      state.sessions = state.sessions.filter((x) => x.id !== s.id);
      return null;
    }, `Session '${s.name}' deleted.`);
  };

  // ---------------------------------------------------------------- the new-session form

  const card = $('[data-new-session-card]');
  const toggle = $('[data-new-session]');
  const form = $('[data-new-session-form]');
  const formError = $('[data-form-error]');
  const domainSelect = $('#session-domain');
  const imageSelect = $('#session-image');
  const images = new Map();
  let formLoaded = false;

  const setFormError = (message) => {
    formError.textContent = message;
    formError.hidden = !message;
  };

  const describeDomain = () => {
    const d = state.domains.get(domainSelect.value);
    const limits = $('[data-domain-limits]');
    if (!d) { limits.textContent = ''; return; }
    const cpus = Number.isInteger(d.cpus) ? d.cpus : d.cpus.toFixed(1);
    limits.textContent = (d.unavailable ? `Unavailable: ${d.unavailable} ` : '')
      + `${d.backend}${d.partition ? ` (partition ${d.partition})` : ''}: ${size(d.memoryBytes)} memory, ${cpus} CPU${d.cpus === 1 ? '' : 's'}, `
      + `${d.maxProcesses} processes; ${plural(d.maxSessionsPerUser, 'session')} at once; stops after ${human(span(d.idleTimeout))} idle; `
      + `runs ${human(span(d.lifetime))} per start or extension, at most ${human(span(d.maxLifetime))}.`;
  };

  const describeImage = () => {
    const i = images.get(imageSelect.value);
    $('[data-image-kernels]').textContent = i ? `Kernels: ${i.kernels.join(', ')}${i.description ? `. ${i.description}` : ''}` : '';
  };
  domainSelect.addEventListener('change', describeDomain);
  imageSelect.addEventListener('change', describeImage);

  const userVolumeRow = (v) => {
    const writable = (v.actions || []).includes('write');
    const id = `uv-${v.path.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    const mount = h('input', { type: 'checkbox', class: 'form-check-input', id, 'data-testid': 'uv-mount', 'data-path': v.path });
    const access = h('select', { class: 'form-select form-select-sm', 'aria-label': `Access to ${v.path}`, 'data-testid': 'uv-access', 'data-path': v.path },
      h('option', { value: 'ro' }, 'read-only'),
      h('option', { value: 'rw', disabled: !writable }, writable ? 'read-write' : 'read-write (not allowed)'));
    if (writable) { access.value = 'rw'; }
    if (v.owner === userName && v.rootVolume === 'Storage' && v.name === 'persistent') { mount.checked = true; }
    const row = h('tr', { 'data-testid': 'uv-row', 'data-path': v.path },
      h('td', {}, mount),
      h('td', {}, h('label', { for: id, class: 'font-monospace small text-break' }, v.path),
        v.owner !== userName ? h('span', { class: 'badge text-bg-light ms-1' }, `shared by ${v.owner}`) : null),
      h('td', {}, access));
    row.volume = { rootVolume: v.rootVolume, owner: v.owner, name: v.name };
    return row;
  };

  const loadForm = async () => {
    const [domains, imageList, volumes] = await Promise.all([
      call('GET', 'api/compute/domains'), call('GET', 'api/compute/images'), call('GET', 'api/files/volumes')]);
    state.domains = new Map(domains.map((d) => [d.name, d]));
    domainSelect.replaceChildren(...domains.map((d) => h('option', { value: d.name, disabled: !!d.unavailable },
      d.unavailable ? `${d.name} (unavailable)` : d.name)));
    const firstUsable = domains.find((d) => !d.unavailable);
    if (firstUsable) { domainSelect.value = firstUsable.name; }
    if (domains.length === 0) { domainSelect.replaceChildren(h('option', { value: '' }, 'No domain you may use')); }
    images.clear();
    imageList.forEach((i) => images.set(i.name, i));
    imageSelect.replaceChildren(...imageList.map((i) => h('option', { value: i.name }, i.name)));
    if (imageList.length === 0) { imageSelect.replaceChildren(h('option', { value: '' }, 'No image you may use')); }
    // Python first: most sessions want it (the list itself is alphabetical).
    const python = imageList.find((i) => /python/i.test(i.name));
    if (python) { imageSelect.value = python.name; }
    describeDomain();
    describeImage();

    const data = volumes.dataVolumes || [];
    $('[data-data-volumes]').replaceChildren(...(data.length === 0
      ? [h('span', { class: 'text-body-secondary small' }, 'No data volumes on this server.')]
      : data.map((d) => h('div', { class: 'form-check' },
        h('input', { type: 'checkbox', class: 'form-check-input', id: `dv-${d.name}`, value: d.name, 'data-testid': 'dv-check', 'data-name': d.name }),
        h('label', { class: 'form-check-label', for: `dv-${d.name}`, title: d.description || null },
          d.displayName && d.displayName !== d.name ? `${d.displayName} ` : '', h('code', {}, d.name))))));
    const user = [...(volumes.mine || []), ...(volumes.sharedWithMe || [])];
    $('[data-user-volumes]').replaceChildren(...(user.length === 0
      ? [h('tr', {}, h('td', { colspan: 3, class: 'text-body-secondary small' }, 'No user volumes yet: create one in Files.'))]
      : user.map(userVolumeRow)));
    formLoaded = true;
  };

  const defaultName = () => {
    const names = new Set(state.sessions.map((s) => s.name));
    let n = 1;
    while (names.has(n === 1 ? 'My session' : `My session ${n}`)) { n += 1; }
    return n === 1 ? 'My session' : `My session ${n}`;
  };

  const openForm = async (visible) => {
    card.hidden = !visible;
    toggle.setAttribute('aria-expanded', String(visible));
    if (!visible) { return; }
    setFormError('');
    const name = $('#session-name');
    if (!name.value) { name.value = defaultName(); }
    name.focus();
    if (!formLoaded) {
      try {
        await loadForm();
      } catch (error) {
        setFormError(`The choices could not be loaded: ${error.message}`);
      }
    }
  };
  toggle.addEventListener('click', () => openForm(card.hidden));
  $('[data-new-session-cancel]').addEventListener('click', () => openForm(false));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    setFormError('');
    const name = $('#session-name').value.trim();
    if (!/^[A-Za-z0-9 _.-]{1,64}$/.test(name)) {
      setFormError('A session name is 1 to 64 letters, digits, spaces and _ - .');
      return;
    }
    const body = {
      name,
      domain: domainSelect.value,
      image: imageSelect.value,
      dataVolumes: [...page.querySelectorAll('[data-testid=dv-check]:checked')].map((c) => c.value),
      userVolumes: [...page.querySelectorAll('[data-testid=uv-row]')]
        .filter((row) => row.querySelector('[data-testid=uv-mount]').checked)
        .map((row) => ({ ...row.volume, writable: row.querySelector('[data-testid=uv-access]').value === 'rw' })),
    };
    const button = $('[data-create-session]');
    button.disabled = true;
    $('[data-create-spinner]').hidden = false;
    try {
      const created = await call('POST', 'api/compute/sessions', body);
      state.generation += 1;
      state.fresh = created.id;
      state.sessions = [created, ...state.sessions.filter((s) => s.id !== created.id)];
      $('#session-name').value = '';
      openForm(false);
      showMessage(`Session '${created.name}' is starting; Open becomes available when Jupyter answers.`);
      state.announced = created.id;
      renderList();
      refresh();
    } catch (error) {
      setFormError(error.message);
    } finally {
      button.disabled = false;
      $('[data-create-spinner]').hidden = true;
    }
  });

  refresh();
}
