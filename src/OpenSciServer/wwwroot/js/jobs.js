// The Jobs pages (and the job badges of a schedule's history): live status. The list refreshes the status badges of unfinished jobs
// and why a waiting one waits; a job's page refreshes its status, why it waits, and the end of stdout and stderr, and reloads once
// the job has ended (to show its exit code and messages). Everything reaches the page as textContent.
(() => {
  const every = 1500;
  const classes = { SUCCESS: 'text-bg-success', ERROR: 'text-bg-danger', CANCELED: 'text-bg-secondary', STARTED: 'text-bg-primary' };
  const paint = (badge, status) => {
    const label = status.toUpperCase();
    badge.textContent = label;
    badge.className = `badge ${classes[label] || 'text-bg-warning'}`;
  };
  const reason = (element, text) => {
    if (!element) { return; }
    if (element.textContent !== (text || '')) { element.textContent = text || ''; }
    element.hidden = !text;
  };
  const get = async (url) => {
    const response = await fetch(new URL(url, document.baseURI), { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (!response.ok) { throw new Error(String(response.status)); }
    return response.json();
  };

  // Looked up at every tick: a schedule's page replaces its history table when new runs appear (schedules.js).
  if (document.querySelector('[data-jobs-live]') || document.querySelector('[data-schedule-live]')) {
    const tick = async () => {
      const table = document.querySelector('[data-jobs-live]');
      const open = table ? table.querySelectorAll('[data-job-status][data-final=false]') : [];
      if (open.length > 0) {
        try {
          const jobs = await get('api/jobs?top=100');
          for (const job of jobs) {
            const row = table.querySelector(`[data-job-id="${job.id}"]`);
            const badge = row && row.querySelector('[data-job-status]');
            if (badge) {
              paint(badge, job.status);
              badge.setAttribute('data-final', job.final ? 'true' : 'false');
              reason(row.querySelector('[data-job-reason]'), job.queueReason);
            }
          }
        } catch { /* try again next time */ }
      }
      window.setTimeout(tick, every);
    };
    window.setTimeout(tick, every);
  }

  const card = document.querySelector('[data-job-live]');
  if (card && card.getAttribute('data-final') === 'false') {
    const id = card.getAttribute('data-job-id');
    const tick = async () => {
      try {
        const details = await get(`api/jobs/${encodeURIComponent(id)}`);
        paint(card.querySelector('[data-job-status]'), details.job.status);
        reason(card.querySelector('[data-job-reason]'), details.job.queueReason);
        for (const name of ['stdout', 'stderr']) {
          const pre = document.querySelector(`[data-output="${name}"]`);
          if (pre && pre.textContent !== details[name].text) { pre.textContent = details[name].text; }
        }
        if (details.job.final) { window.location.reload(); return; }
      } catch { /* try again next time */ }
      window.setTimeout(tick, every);
    };
    window.setTimeout(tick, every);
  }
})();
