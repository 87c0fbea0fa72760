// The Files page: uploads by drag-and-drop (files and whole folders) or the file picker, each file PUT
// to the file API with XMLHttpRequest so that every file and the whole batch show their progress.
// Files over 64 MiB go in 16 MiB chunks (Content-Range) and resume where the server stands after a
// dropped connection, or after a reload when the same file is chosen again. Names only ever reach the
// page through textContent. Without JavaScript the page's upload form posts the files instead.
(() => {
  const zone = document.querySelector('[data-upload-zone]');
  const panel = document.querySelector('[data-upload-panel]');
  if (!zone || !panel || !window.XMLHttpRequest) { return; }

  const BIG = 64 * 1024 * 1024;
  const CHUNK = 16 * 1024 * 1024;
  const folder = zone.getAttribute('data-upload-folder') || '';
  const input = zone.querySelector('[data-upload-input]');
  const list = panel.querySelector('[data-upload-list]');
  const overall = panel.querySelector('[role=progressbar]');
  const summary = panel.querySelector('[data-upload-summary]');
  const overallText = panel.querySelector('[data-upload-overall-text]');
  const dropTarget = document.querySelector('[data-drop-target]') || zone;
  const token = (document.querySelector('meta[name="request-verification-token"]') || {}).content || '';

  const queue = [];
  let batch = [];
  let running = false;

  const encodePath = (relative) =>
    folder.split('/').concat(relative.split('/')).filter((n) => n.length > 0).map(encodeURIComponent).join('/');
  const apiUrl = (route, relative, query) => new URL(`api/files/${route}/${encodePath(relative)}${query ? `?${query}` : ''}`, document.baseURI);
  const wait = (ms) => new Promise((resolve) => { window.setTimeout(resolve, ms); });

  const formatBytes = (bytes) => {
    const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1).replace(/\.0$/, '')} ${units[unit]}`;
  };

  const setBar = (progress, percent, state) => {
    const value = Math.max(0, Math.min(100, Math.floor(percent)));
    progress.setAttribute('aria-valuenow', String(value));
    const bar = progress.querySelector('.progress-bar');
    bar.style.width = `${value}%`;
    bar.classList.toggle('bg-success', state === 'done');
    bar.classList.toggle('bg-danger', state === 'failed');
  };

  const updateOverall = () => {
    const total = batch.reduce((sum, item) => sum + item.file.size, 0);
    const loaded = batch.reduce((sum, item) => sum + (item.state === 'done' ? item.file.size : item.loaded), 0);
    const finished = batch.every((item) => item.state !== 'queued' && item.state !== 'sending');
    setBar(overall, total === 0 ? (finished ? 100 : 0) : (loaded * 100) / total, finished ? 'done' : '');
    overall.querySelector('.progress-bar').classList.toggle('progress-bar-animated', !finished);
    overallText.textContent = `${formatBytes(loaded)} of ${formatBytes(total)}`;
    const done = batch.filter((item) => item.state === 'done').length;
    const failed = batch.filter((item) => item.state === 'failed' || item.state === 'cancelled').length;
    summary.textContent = finished
      ? `${done} of ${batch.length} uploaded${failed > 0 ? `, ${failed} not` : ''}.`
      : `Uploading ${batch.length - batch.filter((item) => item.state === 'queued').length} of ${batch.length}…`;
  };

  const setStatus = (item, text, state) => {
    if (state) { item.state = state; }
    item.status.textContent = text;
    setBar(item.progress, item.state === 'done' ? 100 : (item.file.size === 0 ? 0 : (item.loaded * 100) / item.file.size), item.state);
    item.cancel.hidden = item.state !== 'queued' && item.state !== 'sending';
    item.retry.hidden = item.state !== 'exists';
    updateOverall();
  };

  const addRow = (item) => {
    const li = document.createElement('li');
    li.className = 'upload-item';
    li.setAttribute('data-testid', 'upload-item');
    const top = document.createElement('div');
    top.className = 'd-flex align-items-center gap-2 small';
    const name = document.createElement('span');
    name.className = 'text-truncate fw-semibold flex-grow-1';
    name.setAttribute('data-testid', 'upload-name');
    name.textContent = item.relative;
    const size = document.createElement('span');
    size.className = 'text-body-secondary text-nowrap';
    size.textContent = formatBytes(item.file.size);
    item.status = document.createElement('span');
    item.status.className = 'text-body-secondary text-nowrap upload-status';
    item.status.setAttribute('data-testid', 'upload-status');
    item.retry = document.createElement('button');
    item.retry.type = 'button';
    item.retry.className = 'btn btn-link btn-sm p-0';
    item.retry.textContent = 'Replace it';
    item.retry.hidden = true;
    item.retry.addEventListener('click', () => { item.overwrite = true; item.loaded = 0; setStatus(item, 'Waiting…', 'queued'); queue.push(item); run(); });
    item.cancel = document.createElement('button');
    item.cancel.type = 'button';
    item.cancel.className = 'btn-close btn-close-sm';
    item.cancel.setAttribute('aria-label', 'Cancel this upload');
    item.cancel.addEventListener('click', () => {
      item.cancelled = true;
      if (item.xhr) { item.xhr.abort(); } else { setStatus(item, 'Cancelled', 'cancelled'); }
    });
    top.append(name, size, item.status, item.retry, item.cancel);
    item.progress = document.createElement('div');
    item.progress.className = 'progress upload-progress mt-1';
    item.progress.setAttribute('role', 'progressbar');
    item.progress.setAttribute('aria-label', `Upload of ${item.relative}`);
    item.progress.setAttribute('aria-valuemin', '0');
    item.progress.setAttribute('aria-valuemax', '100');
    item.progress.setAttribute('data-testid', 'upload-progress');
    const bar = document.createElement('div');
    bar.className = 'progress-bar';
    item.progress.append(bar);
    li.append(top, item.progress);
    list.append(li);
  };

  // One request; resolves with the status (0: the connection failed, -1: cancelled).
  const send = (item, url, body, headers, onProgress) => new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    item.xhr = xhr;
    xhr.open('PUT', url);
    xhr.setRequestHeader('RequestVerificationToken', token);
    Object.entries(headers).forEach(([key, value]) => xhr.setRequestHeader(key, value));
    xhr.upload.onprogress = (event) => { if (event.lengthComputable) { onProgress(event.loaded); } };
    xhr.onload = () => { item.xhr = null; resolve({ status: xhr.status, xhr }); };
    xhr.onerror = () => { item.xhr = null; resolve({ status: 0, xhr }); };
    xhr.onabort = () => { item.xhr = null; resolve({ status: -1, xhr }); };
    xhr.send(body);
  });

  const problem = (xhr) => {
    try {
      const body = JSON.parse(xhr.responseText);
      return body.detail || body.title || `The server answered ${xhr.status}.`;
    } catch {
      return `The server answered ${xhr.status}.`;
    }
  };

  const progressTo = (item, loaded) => {
    item.loaded = Math.min(item.file.size, loaded);
    setStatus(item, `${Math.floor(item.file.size === 0 ? 0 : (item.loaded * 100) / item.file.size)} %`);
  };

  const uploadWhole = (item) =>
    send(item, apiUrl('content', item.relative, `overwrite=${item.overwrite}`), item.file, {}, (loaded) => progressTo(item, loaded));

  // Where the server stands with this file's resumable upload (0 if it has nothing).
  const serverOffset = async (item) => {
    try {
      const response = await fetch(apiUrl('upload-status', item.relative, `size=${item.file.size}`),
        { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } });
      return response.ok ? ((await response.json()).received || 0) : null;
    } catch {
      return null;
    }
  };

  // The server knows an unfinished upload only by its path and size. This browser notes which file it
  // was sending there, so a different file of the same size is never appended to another's bytes.
  const note = (item) => `oss-upload:${encodePath(item.relative)}:${item.file.size}`;
  const fingerprint = (item) => `${item.file.name}:${item.file.lastModified}`;
  const remember = (item, value) => {
    try {
      if (value === null) { window.localStorage.removeItem(note(item)); } else { window.localStorage.setItem(note(item), value); }
    } catch {
      // Storage may be off (private windows); uploads then start afresh after a reload.
    }
  };
  const recalls = (item) => {
    try { return window.localStorage.getItem(note(item)) === fingerprint(item); } catch { return false; }
  };

  const uploadChunked = async (item) => {
    const size = item.file.size;
    let offset = (await serverOffset(item)) || 0;
    if (offset > 0 && !recalls(item)) {
      const discarded = await fetch(apiUrl('upload-status', item.relative, `size=${size}`),
        { method: 'DELETE', credentials: 'same-origin', headers: { RequestVerificationToken: token } });
      if (!discarded.ok) { return { status: discarded.status, xhr: { status: discarded.status, responseText: await discarded.text(), getResponseHeader: () => null } }; }
      offset = 0;
    }
    remember(item, fingerprint(item));
    if (offset > 0) { progressTo(item, offset); setStatus(item, `Resuming at ${formatBytes(offset)}…`); }
    let retries = 0;
    for (;;) {
      const start = offset;
      const end = Math.min(start + CHUNK, size);
      const response = await send(item, apiUrl('content', item.relative, `overwrite=${item.overwrite}`), item.file.slice(start, end),
        { 'Content-Range': `bytes ${start}-${end - 1}/${size}` }, (loaded) => progressTo(item, start + loaded));
      if (response.status === 200) { remember(item, null); }
      if (response.status === 200 || response.status === -1) { return response; }
      const at = Number(response.xhr.getResponseHeader('Upload-Offset'));
      if (response.status === 202 || (response.status === 416 && Number.isFinite(at) && at !== start)) {
        offset = Number.isFinite(at) && response.xhr.getResponseHeader('Upload-Offset') !== null ? at : end;
        retries = 0;
        progressTo(item, offset);
        continue;
      }
      if (response.status === 0 && retries < 6) {
        retries += 1;
        setStatus(item, `Connection lost; trying again (${retries})…`);
        await wait(Math.min(30000, 1000 * 2 ** retries));
        if (item.cancelled) { return { status: -1, xhr: response.xhr }; }
        const resumed = await serverOffset(item);
        if (resumed !== null) { offset = resumed; }
        continue;
      }
      return response;
    }
  };

  const uploadOne = async (item) => {
    setStatus(item, '0 %', 'sending');
    const response = item.file.size > BIG ? await uploadChunked(item) : await uploadWhole(item);
    if (response.status === 200) {
      item.loaded = item.file.size;
      setStatus(item, 'Done', 'done');
    } else if (response.status === -1) {
      setStatus(item, 'Cancelled', 'cancelled');
    } else if (response.status === 409 && !item.overwrite) {
      setStatus(item, 'A file of this name exists.', 'exists');
    } else if (response.status === 0) {
      setStatus(item, 'The connection failed.', 'failed');
    } else {
      setStatus(item, problem(response.xhr), 'failed');
    }
  };

  const refresh = async () => {
    try {
      const response = await fetch(window.location.href, { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'text/html' } });
      if (!response.ok) { return; }
      // The server renders the listing (names escaped); its parts replace the stale ones.
      const fresh = new DOMParser().parseFromString(await response.text(), 'text/html');
      document.querySelectorAll('[data-refresh]').forEach((region) => {
        const replacement = fresh.querySelector(`[data-refresh="${region.getAttribute('data-refresh')}"]`);
        if (replacement) { region.replaceWith(document.adoptNode(replacement)); }
      });
      // What just arrived stands out, as after the page's own forms.
      const arrived = new Set(batch.filter((item) => item.state === 'done').map((item) => item.relative.split('/')[0]));
      document.querySelectorAll('[data-testid=entry-row]').forEach((row) => {
        row.classList.toggle('entry-highlight', arrived.has(row.getAttribute('data-name')));
      });
    } catch {
      // The listing stays as it was; a reload shows the new files.
    }
  };

  const run = async () => {
    if (running) { return; }
    running = true;
    while (queue.length > 0) {
      const item = queue.shift();
      if (item.state === 'queued') { await uploadOne(item); }
    }
    running = false;
    updateOverall();
    if (batch.some((item) => item.state === 'done')) { await refresh(); }
  };

  const enqueue = (files) => {
    if (files.length === 0) { return; }
    if (!running && batch.every((item) => item.state !== 'queued' && item.state !== 'sending' && item.state !== 'exists')) {
      batch = [];
      list.replaceChildren();
    }
    panel.hidden = false;
    files.forEach(({ file, relative }) => {
      const item = { file, relative, loaded: 0, state: 'queued', overwrite: false, xhr: null, cancelled: false };
      batch.push(item);
      addRow(item);
      setStatus(item, 'Waiting…');
      queue.push(item);
    });
    run();
  };

  // Dropped folders are walked, so their files keep their place under the folder's name.
  const droppedFiles = async (transfer) => {
    const entries = Array.from(transfer.items || []).filter((i) => i.kind === 'file').map((i) => (i.webkitGetAsEntry ? i.webkitGetAsEntry() : null));
    const plain = Array.from(transfer.files || []).map((file) => ({ file, relative: file.name }));
    if (entries.length === 0 || entries.some((e) => !e)) { return plain; }
    const found = [];
    const walk = async (entry, prefix) => {
      if (entry.isFile) {
        const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
        found.push({ file, relative: prefix + file.name });
      } else if (entry.isDirectory) {
        const reader = entry.createReader();
        for (;;) {
          const children = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
          if (children.length === 0) { break; }
          for (const child of children) { await walk(child, `${prefix}${entry.name}/`); }
        }
      }
    };
    try {
      for (const entry of entries) { await walk(entry, ''); }
      return found;
    } catch {
      return plain;
    }
  };

  const carriesFiles = (event) => event.dataTransfer && Array.from(event.dataTransfer.types || []).includes('Files');
  let depth = 0;
  dropTarget.addEventListener('dragenter', (event) => {
    if (!carriesFiles(event)) { return; }
    event.preventDefault();
    depth += 1;
    dropTarget.classList.add('drop-active');
  });
  dropTarget.addEventListener('dragover', (event) => {
    if (!carriesFiles(event)) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
  });
  dropTarget.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) { dropTarget.classList.remove('drop-active'); }
  });
  dropTarget.addEventListener('drop', async (event) => {
    if (!carriesFiles(event)) { return; }
    event.preventDefault();
    depth = 0;
    dropTarget.classList.remove('drop-active');
    enqueue(await droppedFiles(event.dataTransfer));
  });
  // A file dropped beside the target must not make the browser leave the page to open it.
  window.addEventListener('dragover', (event) => { if (carriesFiles(event)) { event.preventDefault(); } });
  window.addEventListener('drop', (event) => { if (carriesFiles(event)) { event.preventDefault(); } });

  document.querySelectorAll('[data-upload-pick]').forEach((button) => button.addEventListener('click', () => input.click()));
  input.addEventListener('change', () => {
    enqueue(Array.from(input.files).map((file) => ({ file, relative: file.name })));
    input.value = '';
  });
  zone.addEventListener('submit', (event) => {
    event.preventDefault();
    enqueue(Array.from(input.files).map((file) => ({ file, relative: file.name })));
  });
  window.addEventListener('beforeunload', (event) => {
    if (batch.some((item) => item.state === 'sending' || item.state === 'queued')) { event.preventDefault(); }
  });
})();
