// The schedules page: a live preview of the cron expression (words and the next 5 runs), and the
// browser's own time zone as the default for a new schedule (not for one being edited or a form sent back).
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
