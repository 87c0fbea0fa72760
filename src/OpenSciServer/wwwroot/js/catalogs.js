// Admin › Catalogs: follows the running catalog imports. Every second it asks the import route for each unfinished import and
// moves its bar, state and the line under it (phase, rows, bytes read, spill, elapsed; the same words the page writes); when an
// import has ended it loads the page again (a GET, also after the form's POST), which then lists the new context (or shows why the import failed). Text goes in as textContent.
(() => {
  const list = document.querySelector('[data-imports-live]');
  if (!list) { return; }
  const every = 1000;
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  const size = (bytes) => {
    let value = bytes; let unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
    return unit === 0 ? `${bytes} bytes` : `${Math.round(value * 10) / 10} ${units[unit]}`;
  };
  const number = (n) => n.toLocaleString('en-US');
  const stateClass = { Ready: 'text-bg-success', Failed: 'text-bg-danger', Canceled: 'text-bg-secondary', Importing: 'text-bg-primary', Queued: 'text-bg-warning' };
  const detail = (i) => {
    const parts = [i.phase];
    if (i.rowsRead !== null && i.rowsRead !== undefined) {
      parts.push(i.rowsTotal !== null && i.rowsTotal !== undefined && i.state !== 'Ready' ? `${number(i.rowsRead)} of ${number(i.rowsTotal)} rows` : `${number(i.rowsRead)} rows`);
    }
    if (i.bytesTotal > 0) { parts.push(`${size(i.bytesRead)} of ${size(i.bytesTotal)} read`); }
    if (i.spillBytes > 0) { parts.push(`${size(i.spillBytes)} spilled`); }
    if (i.startedAt) { parts.push(`${Math.round(i.elapsedSeconds)} s`); }
    return parts.join(' · ');
  };
  const paint = (item, i) => {
    const badge = item.querySelector('[data-import-state]');
    badge.textContent = i.state;
    badge.className = `badge ${stateClass[i.state] || 'text-bg-secondary'}`;
    const reading = i.state === 'Importing' && i.phase === 'reading';
    const percent = i.state === 'Ready' || (i.state === 'Importing' && !reading) ? 100 : i.state === 'Importing' ? Math.round(i.percentRead) : 0;
    const bar = item.querySelector('[data-import-bar]');
    bar.setAttribute('aria-valuenow', String(percent));
    const fill = bar.querySelector('.progress-bar');
    fill.style.width = `${percent}%`;
    fill.className = `progress-bar ${i.state === 'Ready' ? 'bg-success' : i.final ? 'bg-danger' : reading || i.state === 'Queued' ? 'progress-bar-striped progress-bar-animated' : 'progress-bar-striped progress-bar-animated bg-info'}`;
    item.querySelector('[data-import-detail]').textContent = detail(i);
  };
  const tick = async () => {
    const open = list.querySelectorAll('[data-import-id][data-final=false]');
    if (open.length === 0) { return; }
    let ended = false;
    for (const item of open) {
      try {
        const response = await fetch(new URL(`api/admin/casjobs/imports/${encodeURIComponent(item.getAttribute('data-import-id'))}`, document.baseURI),
          { credentials: 'same-origin', headers: { Accept: 'application/json' } });
        if (!response.ok) { continue; }
        const i = await response.json();
        paint(item, i);
        if (i.final) { item.setAttribute('data-final', 'true'); ended = true; }
      } catch { /* try again next time */ }
    }
    if (ended) { window.setTimeout(() => window.location.assign(window.location.href), 600); return; }
    window.setTimeout(tick, every);
  };
  window.setTimeout(tick, every);
})();
