// The schedules page: a live preview of the cron expression (words and the next 5 runs), the
// browser's own time zone as the default for a new schedule (not for one being edited or a form sent back),
// and the selected schedule's history kept up to date (new runs appear without a reload).
const form = document.querySelector('[data-schedule-form]');
if (form) {
    const cron = form.querySelector('[data-cron-input]');
    const zone = form.querySelector('[data-zone-input]');
    const box = form.querySelector('[data-cron-preview]');
    if (zone && (!zone.value || zone.value === 'UTC') && !form.dataset.keepZone) {
        const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
        if (browserZone) {
            zone.value = browserZone;
        }
    }

    const format = iso => {
        const d = new Date(iso);
        return `${d.toLocaleString()} (${d.toISOString().slice(0, 16).replace('T', ' ')} UTC)`;
    };

    let timer;
    let asked = 0;
    const refresh = async () => {
        const mine = ++asked;
        const query = new URLSearchParams({ cron: cron.value, timeZone: zone.value || 'UTC', count: '5' });
        const response = await fetch(`api/jobs/schedules/preview?${query}`, { headers: { Accept: 'application/json' } });
        const body = await response.json().catch(() => ({}));
        if (mine !== asked) {
            return;
        }

        box.replaceChildren();
        const words = document.createElement('div');
        words.dataset.cronWords = '';
        if (response.ok) {
            words.className = 'fw-semibold';
            words.textContent = body.description;
            const runs = document.createElement('ol');
            runs.className = 'mb-0';
            runs.dataset.cronRuns = '';
            for (const run of body.nextRuns) {
                const item = document.createElement('li');
                item.textContent = format(run);
                runs.append(item);
            }

            box.append(words, runs);
        } else {
            words.className = 'text-danger';
            words.textContent = body.detail || body.title || 'That expression cannot be read.';
            box.append(words);
        }
    };

    const later = () => {
        clearTimeout(timer);
        timer = setTimeout(refresh, 250);
    };
    cron.addEventListener('input', later);
    zone.addEventListener('input', later);
    refresh();
}

// The selected schedule's history: its route is polled; when its runs differ from those shown (a new run, an outcome
// that changed), the schedule's card (next runs, history) and the list are taken anew from the page, as the server renders them.
// jobs.js keeps the job badges in it live.
const live = document.querySelector('[data-schedule-live]');
if (live) {
    const every = 2000;
    const id = live.dataset.scheduleId;
    const shown = () => [...document.querySelectorAll('[data-schedule-live] [data-testid=history-row]')]
        .map(row => `${row.dataset.due}|${row.dataset.outcome}|${row.dataset.jobId || ''}`).join(',');
    const replace = (fresh, selector) => {
        const next = fresh.querySelector(selector);
        const now = document.querySelector(selector);
        if (next && now) {
            now.replaceWith(document.importNode(next, true));
        }
    };
    const tick = async () => {
        try {
            if (!document.hidden) {
                const response = await fetch(`api/jobs/schedules/${encodeURIComponent(id)}?next=5&history=50`,
                    { credentials: 'same-origin', headers: { Accept: 'application/json' } });
                if (response.ok) {
                    const body = await response.json();
                    const runs = (body.history || []).map(r => `${Date.parse(r.dueAt)}|${r.outcome}|${r.jobId ?? ''}`).join(',');
                    if (runs !== shown()) {
                        const page = await fetch(`jobs/schedules?id=${encodeURIComponent(id)}`, { credentials: 'same-origin' });
                        if (page.ok) {
                            const fresh = new DOMParser().parseFromString(await page.text(), 'text/html');
                            replace(fresh, '[data-schedule-live]');
                            replace(fresh, '[data-testid=schedule-table]');
                        }
                    }
                }
            }
        } catch { /* try again next time */ }
        setTimeout(tick, every);
    };
    setTimeout(tick, every);
}
