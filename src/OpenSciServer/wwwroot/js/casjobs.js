// The CasJobs page: a context picker and schema browser, a CodeMirror 5 SQL editor completing table and
// column names, quick queries with a paged result grid, downloads, a histogram or scatter plot and an
// all-sky map drawn on canvases, the MyDB browser and the history of long queries (polled while any is
// still running). Everything comes from the native API (/api/casjobs) with the login cookie; unsafe
// calls carry the antiforgery token of the page's meta tag. Names and values reach the page only
// through textContent and attributes, never as HTML.

const root = document.querySelector('[data-casjobs]');
if (root && window.fetch) {
  main(root);
}

function main(page) {
  const GRID_ROWS = 1000;
  const PAGE_ROWS = 100;
  const FINAL = new Set([3, 4, 5]);
  const STATUS_NAMES = ['Ready', 'Started', 'Canceling', 'Canceled', 'Failed', 'Finished'];
  const STATUS_CLASSES = ['text-bg-secondary', 'text-bg-primary', 'text-bg-warning', 'text-bg-dark', 'text-bg-danger', 'text-bg-success'];
  const FORMATS = [
    { key: 'csv', label: 'CSV', file: 'result.csv', ext: 'csv' },
    { key: 'fits', label: 'FITS', file: 'result.fits', ext: 'fits' },
    { key: 'votable', label: 'VOTable', file: 'result.vot', ext: 'vot' },
    { key: 'parquet', label: 'Parquet', file: 'result.parquet', ext: 'parquet' },
  ];
  const NUMERIC_TYPES = /^(u?(tiny|small|big|huge)?int(eger)?|double|float|real|decimal|numeric|hugeint|uhugeint)/i;
  const token = (document.querySelector('meta[name="request-verification-token"]') || {}).content || '';
  const userName = page.getAttribute('data-user') || '';
  const maxRows = Number(page.getAttribute('data-max-rows')) || 0;
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

  /** One call to /api/casjobs/{path}; resolves with the JSON (or the response when raw), throws ApiError. */
  const call = async (method, path, body, options = {}) => {
    const headers = { Accept: options.raw ? '*/*' : 'application/json' };
    if (method !== 'GET') { headers.RequestVerificationToken = token; }
    if (body !== undefined) { headers['Content-Type'] = 'application/json'; }
    let response;
    try {
      response = await fetch(new URL(`api/casjobs/${path}`, document.baseURI), {
        method, headers, credentials: 'same-origin', cache: 'no-store', signal: options.signal,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      if (error && error.name === 'AbortError') { throw error; }
      throw new ApiError('The server could not be reached. Check the connection and try again.', 0);
    }
    if (!response.ok) { throw new ApiError(await problem(response), response.status); }
    if (options.raw) { return response; }
    if (response.status === 204) { return null; }
    const type = response.headers.get('Content-Type') || '';
    return type.includes('json') ? response.json() : response.text();
  };

  const enc = encodeURIComponent;
  // A route this server does not have (an older server): the page leaves that feature out.
  const missingRoute = (error) => (error.status === 404 && /nothing at this address/i.test(error.message)) || error.status === 405;

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
  const show = (element, visible) => { element.hidden = !visible; };

  const number = (value) => (typeof value === 'number' ? value.toLocaleString('en-US') : '—');
  const bytes = (value) => {
    if (typeof value !== 'number') { return '—'; }
    const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
    let v = value;
    let unit = 0;
    while (v >= 1024 && unit < units.length - 1) { v /= 1024; unit += 1; }
    return unit === 0 ? `${value} bytes` : `${v.toFixed(1).replace(/\.0$/, '')} ${units[unit]}`;
  };
  // The dashboard shows times in UTC, as its server-rendered pages do.
  const utc = (iso, seconds) => {
    if (!iso) { return '—'; }
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? '—' : `${date.toISOString().replace('T', ' ').slice(0, seconds ? 19 : 16)} UTC`;
  };
  const duration = (ms) => (ms < 60000 ? `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s` : `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`);
  const quoteName = (name) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`);
  const storage = {
    get: (key) => { try { return window.localStorage.getItem(key); } catch { return null; } },
    set: (key, value) => { try { window.localStorage.setItem(key, value); } catch { /* private windows: not remembered */ } },
  };

  const state = {
    contexts: [],
    context: '',
    tables: [],
    columns: new Map(),
    columnsRoute: true,
    running: null,
    result: null,
    ran: null,
    set: 0,
    page: 0,
    jobs: [],
    jobsTimer: 0,
    jobsStatus: new Map(),
    mydbTables: [],
    mydbSelected: null,
    // The caller's MyDB schemas in PostgreSQL databases, and the one of the selected context (if it lives in PostgreSQL).
    pgMyDbs: [],
    pgSchema: null,
    pgColumns: new Map(),
  };

  // ---------------------------------------------------------------- tabs

  const tabButton = (name) => $(`#tab-${name}`);
  const showTab = (name) => {
    const button = tabButton(name);
    if (window.bootstrap && window.bootstrap.Tab) { window.bootstrap.Tab.getOrCreateInstance(button).show(); } else { button.click(); }
  };
  ['query', 'mydb', 'jobs'].forEach((name) => {
    tabButton(name).addEventListener('shown.bs.tab', () => {
      window.history.replaceState(null, '', name === 'query' ? window.location.pathname + window.location.search : `#${name}`);
      if (name === 'query' && editor) { editor.refresh(); }
      if (name === 'mydb') { loadMyDb(); }
      if (name === 'jobs') { loadJobs(); }
    });
  });

  // ---------------------------------------------------------------- editor

  const textarea = $('[data-sql-editor]');
  const remembered = storage.get('casjobs:sql');
  if (remembered) { textarea.value = remembered; }
  let editor = null;

  const hintTables = () => Object.fromEntries([
    ...state.tables.map((t) => [t.name, (state.columns.get(t.name) || []).map((c) => c.name)]),
    // In a PostgreSQL context, mydb.T is the user's schema in that database: completed as mydb.name.
    ...(state.pgSchema ? state.pgSchema.tables.map((t) => [`mydb.${t.name}`, (state.pgColumns.get(t.name) || []).map((c) => c.name)]) : []),
  ]);

  // The table a query reads (the first known name after FROM or JOIN): its columns complete without a prefix.
  const defaultTable = () => {
    const names = new Map(state.tables.map((t) => [t.name.toLowerCase(), t.name]));
    const text = editor ? editor.getValue() : textarea.value;
    const pattern = /\b(?:from|join)\s+((?:[\w$]+|"[^"]+"|\[[^\]]+\])(?:\.(?:[\w$]+|"[^"]+"|\[[^\]]+\]))*)/gi;
    for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
      const last = match[1].split('.').pop().replace(/^["[]|["\]]$/g, '').toLowerCase();
      if (names.has(last)) { return names.get(last); }
    }
    return state.tables.length === 1 ? state.tables[0].name : undefined;
  };

  const hintOptions = (auto) => ({ tables: hintTables(), defaultTable: defaultTable(), disableKeywords: auto, completeSingle: false });

  if (window.CodeMirror) {
    const quickKey = () => { runQuick(); };
    editor = window.CodeMirror.fromTextArea(textarea, {
      mode: 'text/x-mssql',
      lineNumbers: true,
      lineWrapping: true,
      tabSize: 2,
      indentUnit: 2,
      inputStyle: 'contenteditable',
      screenReaderLabel: 'SQL query',
      extraKeys: {
        'Ctrl-Enter': quickKey,
        'Cmd-Enter': quickKey,
        'Shift-Ctrl-Enter': () => { submitJob(); },
        'Ctrl-Space': (cm) => cm.showHint({ hint: window.CodeMirror.hint.sql, ...hintOptions(false) }),
      },
    });
    editor.getWrapperElement().setAttribute('data-testid', 'sql-codemirror');
    editor.getWrapperElement().setAttribute('aria-labelledby', 'sql-editor-label');
    // While typing a name, offer the tables and columns that match (keywords only on Ctrl+Space); a
    // list holding only what is typed already stays closed, so Enter still starts a new line.
    const autoHint = (cm, options) => {
      const found = window.CodeMirror.hint.sql(cm, options);
      if (!found || found.list.length === 0) { return null; }
      const typed = cm.getRange(found.from, found.to).toLowerCase();
      return found.list.every((item) => (typeof item === 'string' ? item : item.text).toLowerCase() === typed) ? null : found;
    };
    editor.on('inputRead', (cm, change) => {
      if (change.origin !== '+input' || cm.state.completionActive) { return; }
      const typed = change.text[change.text.length - 1];
      if (!/[A-Za-z_.]$/.test(typed)) { return; }
      const tokenType = cm.getTokenAt(cm.getCursor()).type || '';
      if (/string|comment/.test(tokenType)) { return; }
      cm.showHint({ hint: autoHint, ...hintOptions(true) });
    });
    let saveTimer = 0;
    editor.on('change', () => {
      window.clearTimeout(saveTimer);
      saveTimer = window.setTimeout(() => storage.set('casjobs:sql', editor.getValue()), 400);
      clearErrorLine();
    });
  } else {
    textarea.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) { event.preventDefault(); runQuick(); }
    });
  }

  const getSql = () => (editor ? editor.getValue() : textarea.value);
  const setSql = (sql) => {
    if (editor) { editor.setValue(sql); editor.setCursor(editor.lineCount(), 0); } else { textarea.value = sql; }
  };
  const focusEditor = () => { if (editor) { editor.focus(); } else { textarea.focus(); } };
  const insertText = (text) => {
    if (editor) { editor.replaceSelection(text); editor.focus(); } else { textarea.setRangeText(text, textarea.selectionStart, textarea.selectionEnd, 'end'); textarea.focus(); }
  };

  let errorLine = null;
  const clearErrorLine = () => {
    if (editor && errorLine !== null) { editor.removeLineClass(errorLine, 'background', 'cm-error-line'); errorLine = null; }
  };
  // The engine names a line in many of its messages: mark it in the editor.
  const markErrorLine = (message) => {
    const match = /\bline (\d+)/i.exec(message);
    if (!editor || !match) { return; }
    const line = Number(match[1]) - 1;
    if (line >= 0 && line < editor.lineCount()) { errorLine = line; editor.addLineClass(line, 'background', 'cm-error-line'); }
  };

  // ---------------------------------------------------------------- contexts and schema

  const contextSelect = $('[data-context-select]');
  const contextDescription = $('[data-context-description]');
  const schemaList = $('[data-schema-list]');
  const schemaFilter = $('[data-schema-filter]');
  const schemaCount = $('[data-schema-count]');

  const loadContexts = async () => {
    try {
      state.contexts = await call('GET', 'contexts');
    } catch (error) {
      contextSelect.replaceChildren(h('option', { value: '', text: 'No contexts' }));
      schemaList.replaceChildren(h('div', { class: 'text-danger small', role: 'alert', text: error.message }));
      return;
    }
    contextSelect.replaceChildren(...state.contexts.map((c) => h('option', { value: c.name, text: c.name })));
    const last = storage.get('casjobs:context');
    const pick = state.contexts.find((c) => c.name === last)
      || state.contexts.find((c) => c.name.toLowerCase() !== 'mydb')
      || state.contexts[0];
    if (pick) {
      contextSelect.value = pick.name;
      await setContext(pick.name);
    }
  };

  const setContext = async (name) => {
    state.context = name;
    storage.set('casjobs:context', name);
    const context = state.contexts.find((c) => c.name === name);
    const parts = [];
    if (context && context.description) { parts.push(context.description); }
    if (context && typeof context.timeoutSeconds === 'number') { parts.push(`Quick queries stop after ${number(context.timeoutSeconds)} s.`); }
    contextDescription.textContent = parts.join(' ');
    await loadSchema(name);
  };

  // Choosing the context already shown does not load its tables again (that would fold a table the user has just opened).
  contextSelect.addEventListener('change', () => { if (contextSelect.value && contextSelect.value !== state.context) { setContext(contextSelect.value); } });
  schemaFilter.addEventListener('input', () => renderSchema());

  const loadSchema = async (context) => {
    schemaList.replaceChildren(h('div', { class: 'small text-body-secondary' }, h('span', { class: 'spinner-border spinner-border-sm me-2', 'aria-hidden': 'true' }), 'Loading tables…'));
    let tables;
    try {
      tables = await call('GET', `contexts/${enc(context)}/tables`);
    } catch (error) {
      if (state.context === context) { schemaList.replaceChildren(h('div', { class: 'text-danger small', role: 'alert', text: error.message })); }
      return;
    }
    if (state.context !== context) { return; }
    state.tables = tables;
    state.columns = new Map();
    state.columnsRoute = true;
    renderSchema();
    loadCompletionColumns(context);
    if (context.toLowerCase() !== 'mydb') { loadPgSchema(context); }
  };

  /** The caller's PostgreSQL MyDB schemas (an empty list when the server has none or cannot say). */
  const fetchPgMyDbs = async () => {
    try {
      state.pgMyDbs = (await call('GET', 'mydb/postgres')) || [];
    } catch {
      state.pgMyDbs = [];
    }
    return state.pgMyDbs;
  };

  /** The selected context's MyDB schema, when the context lives in PostgreSQL: shown under its tables, and completed. */
  const loadPgSchema = async (context) => {
    const mydbs = await fetchPgMyDbs();
    if (state.context !== context) { return; }
    const schema = mydbs.find((m) => (m.contexts || []).includes(context)) || null;
    // Not a PostgreSQL context, or no MyDB schema there before or now: nothing to show, and the list is left as it is
    // (rendering it again would fold a table the user has just opened).
    if (!schema && !state.pgSchema) { return; }
    state.pgSchema = schema;
    state.pgColumns = new Map();
    renderSchema();
    for (const table of (schema ? schema.tables : []).slice(0, 100)) {
      if (state.context !== context) { return; }
      try {
        const detail = await call('GET', pgTablePath(schema, table.name));
        state.pgColumns.set(table.name, detail.columns || []);
      } catch {
        // Dropped meanwhile: completion goes without its columns.
      }
    }
  };

  const pgTablePath = (schema, name) => `mydb/postgres/${enc(schema.server)}/${enc(schema.database)}/tables/${enc(name)}`;

  const pgSchemaGroup = () => {
    const schema = state.pgSchema;
    if (!schema) { return null; }
    const filter = schemaFilter.value.trim().toLowerCase();
    const tables = schema.tables.filter((t) => !filter || t.name.toLowerCase().includes(filter));
    return h('div', { class: 'mt-3', 'data-testid': 'schema-pgmydb' },
      h('h3', { class: 'h6 mb-1' }, icon('hdd', 'me-1'), 'Your MyDB here'),
      h('div', { class: 'small text-body-secondary mb-2', text: `mydb.name is your schema ${schema.schema} in ${schema.database} (${bytes(schema.usedBytes)} of ${bytes(schema.quotaBytes)} used).` }),
      schema.tables.length === 0
        ? h('div', { class: 'small text-body-secondary', 'data-testid': 'schema-pgmydb-empty', text: 'No tables yet: SELECT … INTO mydb.name keeps a result here.' })
        : tables.map((table, index) => pgSchemaTable(schema, table, index)));
  };

  const pgSchemaTable = (schema, table, index) => {
    const id = `schema-pg-columns-${index}`;
    const columnsBox = h('div', { id, class: 'schema-columns', hidden: true });
    const toggle = h('button', {
      type: 'button', class: 'btn btn-link schema-toggle p-0 text-start text-decoration-none', 'aria-expanded': 'false', 'aria-controls': id,
      'data-testid': 'schema-toggle', title: 'Show the columns',
    }, icon('chevron-right', 'schema-chevron me-1'), h('span', { class: 'fw-semibold text-break', text: `mydb.${table.name}` }));
    toggle.addEventListener('click', async () => {
      const open = toggle.getAttribute('aria-expanded') !== 'true';
      toggle.setAttribute('aria-expanded', String(open));
      columnsBox.hidden = !open;
      if (open && !columnsBox.hasChildNodes()) {
        columnsBox.append(h('div', { class: 'small text-body-secondary', text: 'Loading columns…' }));
        try {
          const detail = await call('GET', pgTablePath(schema, table.name));
          state.pgColumns.set(table.name, detail.columns || []);
          columnsBox.replaceChildren(columnsTable(detail.columns || [], true));
        } catch (error) {
          columnsBox.replaceChildren(h('div', { class: 'small text-body-secondary', text: error.message }));
        }
      }
    });
    const preview = h('button', {
      type: 'button', class: 'btn btn-sm btn-link p-0 ms-auto schema-preview', title: `Quick query: the first 100 rows of mydb.${table.name}`,
      'aria-label': `Show the first 100 rows of mydb.${table.name}`, 'data-testid': 'schema-preview',
    }, icon('play-circle'));
    preview.addEventListener('click', () => { setSql(`SELECT TOP 100 * FROM mydb.${quoteName(table.name)}`); runQuick(); });
    return h('div', { class: 'schema-table', 'data-testid': 'schema-pgmydb-table', 'data-table': table.name },
      h('div', { class: 'd-flex align-items-center gap-2' }, toggle, preview),
      h('div', { class: 'small text-body-secondary' },
        h('span', { text: `${number(table.rows)} rows` }),
        typeof table.columns === 'number' ? ` · ${number(table.columns)} columns` : '',
        typeof table.sizeBytes === 'number' ? ` · ${bytes(table.sizeBytes)}` : ''),
      columnsBox);
  };

  /** The columns of a table (cached); null when the server cannot say. */
  const loadColumns = async (context, table) => {
    if (state.columns.has(table)) { return state.columns.get(table); }
    if (!state.columnsRoute) { return null; }
    try {
      const columns = await call('GET', `contexts/${enc(context)}/tables/${enc(table)}/columns`);
      if (state.context === context) { state.columns.set(table, columns); }
      return columns;
    } catch (error) {
      if (missingRoute(error) && state.context === context) {
        // A server without the columns route: completion falls back to table names.
        state.columnsRoute = false;
      }
      return null;
    }
  };

  // Completion wants every table's columns; contexts hold few tables, so they are fetched a few at a time.
  const loadCompletionColumns = async (context) => {
    const names = state.tables.slice(0, 200).map((t) => t.name);
    if (names.length === 0) { return; }
    await loadColumns(context, names[0]);
    for (let i = 1; i < names.length && state.columnsRoute && state.context === context; i += 4) {
      await Promise.all(names.slice(i, i + 4).map((name) => loadColumns(context, name)));
    }
  };

  const renderSchema = () => {
    const filter = schemaFilter.value.trim().toLowerCase();
    const tables = state.tables.filter((t) => !filter || t.name.toLowerCase().includes(filter) || (t.description || '').toLowerCase().includes(filter));
    schemaCount.textContent = state.tables.length === 1 ? '1 table' : `${number(state.tables.length)} tables`;
    if (state.tables.length === 0) {
      schemaList.replaceChildren(h('div', { class: 'small text-body-secondary', 'data-testid': 'schema-empty', text: state.context.toLowerCase() === 'mydb' ? 'MyDB has no tables yet.' : 'This context has no tables.' }));
      const group = pgSchemaGroup();
      if (group) { schemaList.append(group); }
      return;
    }
    schemaList.replaceChildren(...tables.map((table, index) => schemaTable(table, index)));
    const group = pgSchemaGroup();
    if (group) { schemaList.append(group); }
  };

  const schemaTable = (table, index) => {
    const id = `schema-columns-${index}`;
    const columnsBox = h('div', { id, class: 'schema-columns', hidden: true });
    const toggle = h('button', {
      type: 'button', class: 'btn btn-link schema-toggle p-0 text-start text-decoration-none', 'aria-expanded': 'false', 'aria-controls': id,
      'data-testid': 'schema-toggle', title: 'Show the columns',
    }, icon('chevron-right', 'schema-chevron me-1'), h('span', { class: 'fw-semibold text-break', text: table.name }));
    toggle.addEventListener('click', async () => {
      const open = toggle.getAttribute('aria-expanded') !== 'true';
      toggle.setAttribute('aria-expanded', String(open));
      columnsBox.hidden = !open;
      if (open && !columnsBox.hasChildNodes()) {
        columnsBox.append(h('div', { class: 'small text-body-secondary', text: 'Loading columns…' }));
        const context = state.context;
        const columns = await loadColumns(context, table.name);
        if (state.context !== context) { return; }
        columnsBox.replaceChildren(columns ? columnsTable(columns, true) : h('div', { class: 'small text-body-secondary', text: 'The server does not list this table\'s columns.' }));
      }
    });
    const preview = h('button', {
      type: 'button', class: 'btn btn-sm btn-link p-0 ms-auto schema-preview', title: `Quick query: the first 100 rows of ${table.name}`,
      'aria-label': `Show the first 100 rows of ${table.name}`, 'data-testid': 'schema-preview',
    }, icon('play-circle'));
    preview.addEventListener('click', () => { setSql(`SELECT TOP 100 * FROM ${quoteName(table.name)}`); runQuick(); });
    return h('div', { class: 'schema-table', 'data-testid': 'schema-table', 'data-table': table.name },
      h('div', { class: 'd-flex align-items-center gap-2' }, toggle, preview),
      h('div', { class: 'small text-body-secondary' },
        h('span', { 'data-testid': 'schema-rows', text: typeof table.rows === 'number' ? `${number(table.rows)} rows` : '' }),
        typeof table.columns === 'number' ? ` · ${number(table.columns)} columns` : ''),
      table.description ? h('div', { class: 'small schema-description', 'data-testid': 'schema-description', text: table.description }) : null,
      columnsBox);
  };

  // Columns with type, unit and description; in the schema browser a name click types it into the query.
  const columnsTable = (columns, insertable) => h('table', { class: 'table table-sm small mb-1 schema-column-table', 'data-testid': 'schema-columns' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Column' }), h('th', { scope: 'col', text: 'Type' }), h('th', { scope: 'col', text: 'Unit' }))),
    h('tbody', {}, columns.map((column) => h('tr', { 'data-testid': 'schema-column', 'data-column': column.name },
      h('td', {},
        insertable
          ? h('button', {
            type: 'button', class: 'btn btn-link btn-sm p-0 text-start text-break font-monospace schema-column-name', title: 'Insert this name into the query',
            onclick: () => insertText(quoteName(column.name)),
          }, column.name)
          : h('span', { class: 'font-monospace text-break schema-column-name', text: column.name }),
        column.description ? h('div', { class: 'text-body-secondary', text: column.description }) : null),
      h('td', { class: 'text-body-secondary text-nowrap', text: column.type || '' }),
      h('td', { class: 'text-body-secondary', text: column.unit || '' })))));

  // ---------------------------------------------------------------- quick queries

  const runButton = $('[data-run-quick]');
  const submitButton = $('[data-run-submit]');
  const stopButton = $('[data-run-stop]');
  const taskName = $('[data-task-name]');
  const runStatus = $('[data-run-status]');
  const runSpinner = $('[data-run-spinner]');
  const runText = $('[data-run-text]');
  const runError = $('[data-run-error]');
  const runMessage = $('[data-run-message]');

  const showRunError = (message) => {
    runError.textContent = message;
    show(runError, true);
    markErrorLine(message);
  };
  const clearRunMessages = () => {
    show(runError, false);
    show(runMessage, false);
    clearErrorLine();
  };
  const setRunState = (name, text) => {
    runStatus.setAttribute('data-state', name);
    runText.textContent = text;
    show(runSpinner, name === 'running');
  };

  const runQuick = async () => {
    if (state.running) { return; }
    const query = getSql();
    const context = state.context;
    clearRunMessages();
    if (editor && editor.closeHint) { editor.closeHint(); }
    if (!query.trim()) { showRunError('Write a query first.'); return; }
    if (!context) { showRunError('Pick a context first.'); return; }
    const controller = new AbortController();
    state.running = controller;
    runButton.disabled = true;
    show(stopButton, true);
    const started = performance.now();
    setRunState('running', 'Running… 0.0 s');
    const ticker = window.setInterval(() => { runText.textContent = `Running… ${((performance.now() - started) / 1000).toFixed(1)} s`; }, 100);
    try {
      const result = await call('POST', `contexts/${enc(context)}/query`, { query }, { signal: controller.signal });
      const took = duration(performance.now() - started);
      state.ran = { context, query };
      showResult(result);
      const sets = result.resultSets || [];
      const affected = (result.rowsAffected || []).filter((n) => typeof n === 'number' && n >= 0);
      const summary = sets.length === 0
        ? `Done${affected.length ? `: ${number(affected.reduce((a, b) => a + b, 0))} rows affected` : ''}`
        : sets.length === 1 ? `${number(sets[0].rows.length)} rows` : `${sets.length} result sets`;
      setRunState('done', `${summary} in ${took}`);
      if (context.toLowerCase() === 'mydb' && (sets.length === 0 || /\b(into|create|drop|alter)\b/i.test(query))) {
        // The statement may have changed MyDB's tables: the schema follows (the MyDB tab reloads when shown).
        loadSchema(context);
      } else if (context.toLowerCase() !== 'mydb' && /\b(into|create|drop|alter)\b/i.test(query)) {
        // In a PostgreSQL context, MyDB is a schema of its database: its tables follow.
        loadPgSchema(context);
      }
    } catch (error) {
      if (error && error.name === 'AbortError') {
        setRunState('stopped', 'Stopped.');
      } else {
        setRunState('error', `Failed after ${duration(performance.now() - started)}`);
        showRunError(error.message);
      }
    } finally {
      window.clearInterval(ticker);
      state.running = null;
      runButton.disabled = false;
      show(stopButton, false);
    }
  };

  runButton.addEventListener('click', () => runQuick());
  stopButton.addEventListener('click', () => { if (state.running) { state.running.abort(); } });

  // ---------------------------------------------------------------- result grid

  const results = $('[data-results]');
  const resultTabs = $('[data-result-tabs]');
  const resultNotice = $('[data-result-notice]');
  const grid = $('[data-result-grid]');
  const pagerText = $('[data-pager-text]');
  const pagerPrevious = $('[data-pager-previous]');
  const pagerNext = $('[data-pager-next]');
  const pager = $('[data-result-pager]');

  const showResult = (result) => {
    state.result = result;
    state.set = 0;
    state.page = 0;
    const sets = result.resultSets || [];
    show(results, sets.length > 0);
    if (sets.length === 0) { show($('[data-plots]'), false); return; }
    show(resultTabs, sets.length > 1);
    resultTabs.replaceChildren(...sets.map((set, index) => h('li', { class: 'nav-item', role: 'presentation' },
      h('button', {
        type: 'button', role: 'tab', class: `nav-link py-1 px-2${index === 0 ? ' active' : ''}`, 'aria-selected': String(index === 0),
        'data-testid': 'result-tab', onclick: () => selectSet(index),
      }, `Result ${index + 1} `, h('span', { class: 'badge text-bg-light border', text: number(set.rows.length) })))));
    renderSet();
  };

  const selectSet = (index) => {
    state.set = index;
    state.page = 0;
    resultTabs.querySelectorAll('button').forEach((button, i) => {
      button.classList.toggle('active', i === index);
      button.setAttribute('aria-selected', String(i === index));
    });
    renderSet();
  };

  const currentSet = () => state.result && state.result.resultSets[state.set];

  const renderSet = () => {
    const set = currentSet();
    if (!set) { return; }
    const total = set.rows.length;
    const notes = [h('span', { 'data-testid': 'result-count', text: `${number(total)} ${total === 1 ? 'row' : 'rows'}` })];
    if (total > GRID_ROWS) {
      notes.push(h('span', { text: ` · the grid shows the first ${number(GRID_ROWS)}; the downloads hold all ${number(total)}.` }));
    }
    if (set.truncated) {
      notes.push(h('div', { class: 'alert alert-warning py-1 px-2 mt-1 mb-0', 'data-testid': 'truncated-notice' },
        icon('scissors', 'me-1'),
        `Cut at ${number(maxRows || total)} rows, the quick-query limit. Submit the query with SELECT … INTO mydb.name to keep every row.`));
    }
    if (state.result.resultSets.length > 1) {
      notes.push(h('div', { class: 'text-body-secondary', text: 'The download buttons give the first result set.' }));
    }
    resultNotice.replaceChildren(...notes);
    renderGrid();
    renderPlotChoices(set);
  };

  const renderGrid = () => {
    const set = currentSet();
    const shown = Math.min(set.rows.length, GRID_ROWS);
    const pages = Math.max(1, Math.ceil(shown / PAGE_ROWS));
    state.page = Math.min(Math.max(0, state.page), pages - 1);
    const from = state.page * PAGE_ROWS;
    const to = Math.min(shown, from + PAGE_ROWS);
    const numeric = set.columns.map((c, i) => isNumericColumn(set, i));
    grid.tHead.replaceChildren(h('tr', {},
      h('th', { scope: 'col', class: 'text-end text-body-secondary', text: '#' }),
      set.columns.map((column, i) => h('th', { scope: 'col', class: numeric[i] ? 'text-end' : '', 'data-testid': 'result-column' },
        h('div', { text: column.name }),
        h('div', { class: 'small fw-normal text-body-secondary', 'data-testid': 'result-column-type', text: column.type || '' })))));
    const body = document.createDocumentFragment();
    for (let r = from; r < to; r += 1) {
      const row = set.rows[r];
      body.append(h('tr', { 'data-testid': 'result-row' },
        h('td', { class: 'text-end text-body-tertiary small', text: String(r + 1) }),
        row.map((value, i) => (value === null
          ? h('td', { class: 'text-body-tertiary fst-italic', text: 'NULL' })
          : h('td', {
            // Text of several lines (an EXPLAIN's plan) keeps its lines and columns.
            class: numeric[i] ? 'text-end' : (typeof value === 'string' && value.includes('\n') ? 'result-lines' : ''),
            text: typeof value === 'object' ? JSON.stringify(value) : String(value),
          })))));
    }
    grid.tBodies[0].replaceChildren(body);
    grid.setAttribute('data-rows', String(to - from));
    grid.setAttribute('data-page', String(state.page + 1));
    grid.setAttribute('data-pages', String(pages));
    pagerText.textContent = shown === 0 ? 'No rows' : `Rows ${number(from + 1)}–${number(to)} of ${number(shown)} · page ${state.page + 1} of ${pages}`;
    pagerPrevious.disabled = state.page === 0;
    pagerNext.disabled = state.page >= pages - 1;
    show(pager, shown > 0);
  };

  pagerPrevious.addEventListener('click', () => { state.page -= 1; renderGrid(); });
  pagerNext.addEventListener('click', () => { state.page += 1; renderGrid(); });

  // ---------------------------------------------------------------- downloads

  const saveBlob = (blob, name) => {
    const url = URL.createObjectURL(blob);
    const link = h('a', { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 60000);
  };

  page.querySelectorAll('[data-download]').forEach((button) => {
    button.addEventListener('click', async () => {
      if (!state.ran) { return; }
      const format = FORMATS.find((f) => f.key === button.getAttribute('data-download'));
      clearRunMessages();
      button.disabled = true;
      const label = button.textContent;
      button.replaceChildren(h('span', { class: 'spinner-border spinner-border-sm me-1', 'aria-hidden': 'true' }), label);
      try {
        const response = await call('POST', `contexts/${enc(state.ran.context)}/query?format=${format.key}`, { query: state.ran.query }, { raw: true });
        saveBlob(await response.blob(), format.file);
      } catch (error) {
        showRunError(`${format.label}: ${error.message}`);
      } finally {
        button.textContent = label;
        button.disabled = false;
      }
    });
  });

  // ---------------------------------------------------------------- plots

  const plots = $('[data-plots]');
  const plotX = $('[data-plot-x]');
  const plotY = $('[data-plot-y]');
  const plotLogX = $('[data-plot-logx]');
  const plotLogY = $('[data-plot-logy]');
  const plotCanvas = $('[data-plot-canvas]');
  const plotCaption = $('[data-plot-caption]');
  const skyBox = $('[data-sky-box]');
  const skyCanvas = $('[data-sky-canvas]');
  const skyCaption = $('[data-sky-caption]');

  const isNumericColumn = (set, index) => {
    const type = set.columns[index].type || '';
    if (NUMERIC_TYPES.test(type)) { return true; }
    if (type) { return false; }
    const sample = set.rows.find((row) => row[index] !== null);
    return !!sample && typeof sample[index] === 'number';
  };

  const findColumn = (set, name) => set.columns.findIndex((c) => c.name.toLowerCase() === name);

  const renderPlotChoices = (set) => {
    const numeric = set.columns.map((c, i) => i).filter((i) => isNumericColumn(set, i));
    show(plots, numeric.length > 0);
    if (numeric.length === 0) { return; }
    const previousX = plotX.value;
    const previousY = plotY.value;
    const options = () => numeric.map((i) => h('option', { value: set.columns[i].name, text: set.columns[i].name }));
    plotX.replaceChildren(...options());
    plotY.replaceChildren(h('option', { value: '', text: '(none: histogram)' }), ...options());
    const names = numeric.map((i) => set.columns[i].name);
    // A first look: the first measured quantity, skipping identifiers and positions the sky map shows.
    const preferred = names.find((n) => !/^(id|objid|specobjid|ra|dec|healpix|htmid)$/i.test(n)) || names[0];
    plotX.value = names.includes(previousX) ? previousX : preferred;
    plotY.value = names.includes(previousY) ? previousY : '';
    const ra = findColumn(set, 'ra');
    const dec = findColumn(set, 'dec');
    show(skyBox, ra >= 0 && dec >= 0 && numeric.includes(ra) && numeric.includes(dec));
    drawAll();
  };

  [plotX, plotY, plotLogX, plotLogY].forEach((control) => control.addEventListener('change', () => drawPlot()));

  /** A canvas sized to its box on screen (sharp on high-density displays); null while it is hidden. */
  const prepare = (canvas) => {
    const rect = canvas.getBoundingClientRect();
    if (rect.width < 10 || rect.height < 10) { return null; }
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(rect.width * ratio);
    canvas.height = Math.round(rect.height * ratio);
    const context = canvas.getContext('2d');
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, rect.width, rect.height);
    context.font = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
    return { context, width: rect.width, height: rect.height };
  };

  const niceTicks = (min, max, count, integer) => {
    const span = max - min;
    const rough = span / count;
    const magnitude = 10 ** Math.floor(Math.log10(rough));
    const norm = rough / magnitude;
    const nice = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * magnitude;
    const step = integer ? Math.max(1, Math.round(nice)) : nice;
    const ticks = [];
    // Counted, not summed: a step below the values' precision must not loop for ever.
    const first = Math.ceil(min / step);
    for (let i = 0; i < 50; i += 1) {
      const v = (first + i) * step;
      if (v > max + (step * 1e-9)) { break; }
      ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    }
    return { ticks, step };
  };

  // Labels with as many digits as the step needs; very large or small values in exponent form.
  const tickLabel = (value, step) => {
    const size = Math.max(Math.abs(value), Math.abs(step));
    if (value !== 0 && (size >= 1e6 || size < 1e-3)) {
      return value.toExponential(Math.max(0, Math.min(4, Math.floor(Math.log10(Math.abs(value)) + 1e-9) - Math.floor(Math.log10(step) + 1e-9))));
    }
    const digits = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
    return value.toFixed(digits);
  };

  // A range with some room, never empty.
  const padRange = (min, max, pad) => {
    if (!(max > min)) {
      const d = Math.abs(min) > 0 ? Math.abs(min) * 0.1 : 1;
      return [min - d, max + d];
    }
    return [min - ((max - min) * pad), max + ((max - min) * pad)];
  };

  /** Axes with ticks, grid lines and labels; returns the plot area and the value-to-pixel maps. */
  const axes = (surface, xRange, yRange, xLabel, yLabel, integerY) => {
    const { context, width, height } = surface;
    const box = { left: 62, right: width - 14, top: 12, bottom: height - 42 };
    const sx = (v) => box.left + (((v - xRange[0]) / (xRange[1] - xRange[0])) * (box.right - box.left));
    const sy = (v) => box.bottom - (((v - yRange[0]) / (yRange[1] - yRange[0])) * (box.bottom - box.top));
    context.save();
    context.strokeStyle = '#e9ecef';
    context.fillStyle = '#495057';
    context.lineWidth = 1;
    const xTicks = niceTicks(xRange[0], xRange[1], Math.max(2, Math.floor((box.right - box.left) / 80)));
    const yTicks = niceTicks(yRange[0], yRange[1], Math.max(2, Math.floor((box.bottom - box.top) / 45)), integerY);
    context.textAlign = 'center';
    context.textBaseline = 'top';
    xTicks.ticks.forEach((v) => {
      const x = Math.round(sx(v)) + 0.5;
      context.beginPath(); context.moveTo(x, box.top); context.lineTo(x, box.bottom); context.stroke();
      context.fillText(tickLabel(v, xTicks.step), x, box.bottom + 6);
    });
    context.textAlign = 'right';
    context.textBaseline = 'middle';
    yTicks.ticks.forEach((v) => {
      const y = Math.round(sy(v)) + 0.5;
      context.beginPath(); context.moveTo(box.left, y); context.lineTo(box.right, y); context.stroke();
      context.fillText(tickLabel(v, yTicks.step), box.left - 6, y);
    });
    context.strokeStyle = '#6c757d';
    context.strokeRect(box.left + 0.5, box.top + 0.5, box.right - box.left, box.bottom - box.top);
    context.fillStyle = '#212529';
    context.textAlign = 'center';
    context.textBaseline = 'bottom';
    context.font = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
    context.fillText(xLabel, (box.left + box.right) / 2, height - 4);
    context.translate(14, (box.top + box.bottom) / 2);
    context.rotate(-Math.PI / 2);
    context.textBaseline = 'middle';
    context.fillText(yLabel, 0, 0);
    context.restore();
    return { box, sx, sy };
  };

  const columnValues = (set, name, log) => {
    const index = set.columns.findIndex((c) => c.name === name);
    return set.rows.map((row) => {
      const v = row[index];
      if (typeof v !== 'number' || !Number.isFinite(v)) { return NaN; }
      if (log) { return v > 0 ? Math.log10(v) : NaN; }
      return v;
    });
  };

  const drawPlot = () => {
    const set = currentSet();
    if (!set || plots.hidden || !plotX.value) { return; }
    const surface = prepare(plotCanvas);
    if (!surface) { return; }
    const xName = plotX.value;
    const yName = plotY.value;
    const xLabel = plotLogX.checked ? `log₁₀ ${xName}` : xName;
    const xs = columnValues(set, xName, plotLogX.checked);
    const { context } = surface;
    if (!yName) {
      plotLogY.disabled = true;
      const values = xs.filter(Number.isFinite);
      const skipped = xs.length - values.length;
      plotCanvas.setAttribute('data-kind', 'histogram');
      plotCanvas.setAttribute('data-points', String(values.length));
      plotCanvas.setAttribute('aria-label', `Histogram of ${xLabel}: ${values.length} values`);
      if (values.length === 0) {
        axes(surface, [0, 1], [0, 1], xLabel, 'count');
        plotCaption.textContent = `No values of ${xName} to count${plotLogX.checked ? ' (log needs positive values)' : ''}.`;
        return;
      }
      let min = Infinity;
      let max = -Infinity;
      values.forEach((v) => { if (v < min) { min = v; } if (v > max) { max = v; } });
      const bins = Math.max(5, Math.min(60, Math.ceil(Math.sqrt(values.length))));
      const [lo, hi] = max > min ? [min, max] : padRange(min, max, 0);
      const width = (hi - lo) / bins;
      const counts = new Array(bins).fill(0);
      values.forEach((v) => { counts[Math.min(bins - 1, Math.floor((v - lo) / width))] += 1; });
      const top = Math.max(...counts);
      const { sx, sy } = axes(surface, [lo, hi], [0, Math.max(top * 1.08, 1)], xLabel, 'count', true);
      context.fillStyle = 'rgba(13, 110, 253, 0.55)';
      context.strokeStyle = 'rgba(10, 88, 202, 0.9)';
      counts.forEach((count, i) => {
        if (count === 0) { return; }
        const x0 = sx(lo + (i * width));
        const x1 = sx(lo + ((i + 1) * width));
        const y = sy(count);
        context.fillRect(x0, y, x1 - x0, sy(0) - y);
        context.strokeRect(x0 + 0.5, y + 0.5, Math.max(0, x1 - x0 - 1), sy(0) - y - 1);
      });
      plotCanvas.setAttribute('data-bins', String(bins));
      plotCaption.textContent = `Histogram of ${xLabel}: ${number(values.length)} values in ${bins} bins${skipped ? ` (${number(skipped)} rows without a value left out)` : ''}.`;
      return;
    }
    plotLogY.disabled = false;
    const yLabel = plotLogY.checked ? `log₁₀ ${yName}` : yName;
    const ys = columnValues(set, yName, plotLogY.checked);
    const points = [];
    xs.forEach((x, i) => { if (Number.isFinite(x) && Number.isFinite(ys[i])) { points.push([x, ys[i]]); } });
    plotCanvas.setAttribute('data-kind', 'scatter');
    plotCanvas.setAttribute('data-points', String(points.length));
    plotCanvas.setAttribute('aria-label', `Scatter plot of ${yLabel} against ${xLabel}: ${points.length} points`);
    plotCanvas.removeAttribute('data-bins');
    if (points.length === 0) {
      axes(surface, [0, 1], [0, 1], xLabel, yLabel);
      plotCaption.textContent = 'No rows have both values.';
      return;
    }
    let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
    points.forEach(([x, y]) => { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); });
    const { sx, sy, box } = axes(surface, padRange(x0, x1, 0.04), padRange(y0, y1, 0.04), xLabel, yLabel);
    const size = points.length > 20000 ? 1.5 : points.length > 2000 ? 2 : 3;
    context.save();
    context.beginPath();
    context.rect(box.left, box.top, box.right - box.left, box.bottom - box.top);
    context.clip();
    context.fillStyle = points.length > 20000 ? 'rgba(13, 110, 253, 0.25)' : 'rgba(13, 110, 253, 0.6)';
    points.forEach(([x, y]) => context.fillRect(sx(x) - (size / 2), sy(y) - (size / 2), size, size));
    context.restore();
    const skipped = xs.length - points.length;
    plotCaption.textContent = `${yLabel} against ${xLabel}: ${number(points.length)} points${skipped ? ` (${number(skipped)} rows without both values left out)` : ''}.`;
  };

  // Hammer–Aitoff all-sky projection centred on RA 0, dec 0, with RA increasing to the left as on the
  // sky seen from inside. Returns x in [-2√2, 2√2] (positive to the right) and y in [-√2, √2] (up).
  const hammer = (raDeg, decDeg) => {
    let l = ((raDeg % 360) + 360) % 360;
    if (l > 180) { l -= 360; }
    const lambda = (l * Math.PI) / 180;
    const phi = (decDeg * Math.PI) / 180;
    const z = Math.sqrt(1 + (Math.cos(phi) * Math.cos(lambda / 2)));
    return { x: -(2 * Math.SQRT2 * Math.cos(phi) * Math.sin(lambda / 2)) / z, y: (Math.SQRT2 * Math.sin(phi)) / z };
  };
  let skyLayout = null;
  const skyToCanvas = (ra, dec) => {
    const p = hammer(ra, dec);
    return { x: skyLayout.cx + (p.x * skyLayout.scale), y: skyLayout.cy - (p.y * skyLayout.scale) };
  };
  /** For tests and the curious: where (ra, dec) in degrees lands on the sky map, in CSS pixels. */
  window.casjobsSkyProject = (ra, dec) => (skyLayout ? { ...skyToCanvas(ra, dec), width: skyLayout.width, height: skyLayout.height } : null);

  const drawSky = () => {
    const set = currentSet();
    if (!set || skyBox.hidden) { return; }
    const surface = prepare(skyCanvas);
    if (!surface) { return; }
    const { context, width, height } = surface;
    const margin = 22;
    const scale = Math.min((width - (2 * margin)) / (4 * Math.SQRT2), (height - (2 * margin)) / (2 * Math.SQRT2));
    skyLayout = { cx: width / 2, cy: height / 2, scale, width, height };
    const line = (points) => {
      context.beginPath();
      points.forEach(([ra, dec], i) => {
        const p = skyToCanvas(ra, dec);
        if (i === 0) { context.moveTo(p.x, p.y); } else { context.lineTo(p.x, p.y); }
      });
      context.stroke();
    };
    const steps = (from, to, n) => Array.from({ length: n + 1 }, (_, i) => from + (((to - from) * i) / n));
    // The sky's outline (RA 180° seen from both edges), filled, then the graticule every 30°.
    context.fillStyle = '#f8f9fc';
    context.strokeStyle = '#6c757d';
    context.lineWidth = 1;
    context.beginPath();
    steps(-90, 90, 90).forEach((dec, i) => { const p = skyToCanvas(180, dec); if (i === 0) { context.moveTo(p.x, p.y); } else { context.lineTo(p.x, p.y); } });
    steps(90, -90, 90).forEach((dec) => { const p = skyToCanvas(180.0001, dec); context.lineTo(p.x, p.y); });
    context.closePath();
    context.fill();
    context.stroke();
    context.strokeStyle = '#d0d5dd';
    [-60, -30, 0, 30, 60].forEach((dec) => line(steps(180, 539.9999, 120).map((ra) => [ra, dec])));
    [30, 60, 90, 120, 150, 210, 240, 270, 300, 330, 0].forEach((ra) => line(steps(-90, 90, 90).map((dec) => [ra, dec])));
    context.fillStyle = '#6c757d';
    context.textAlign = 'center';
    context.textBaseline = 'top';
    [0, 60, 120, 240, 300].forEach((ra) => { const p = skyToCanvas(ra, 0); context.fillText(`${ra}°`, p.x, p.y + 3); });
    context.textAlign = 'right';
    context.textBaseline = 'middle';
    [-60, -30, 30, 60].forEach((dec) => { const p = skyToCanvas(179.999, dec); context.fillText(`${dec > 0 ? '+' : ''}${dec}°`, p.x - 3, p.y); });
    context.textAlign = 'left';
    context.textBaseline = 'top';
    context.fillText('RA increases to the left', 4, 4);

    const ra = findColumn(set, 'ra');
    const dec = findColumn(set, 'dec');
    let drawn = 0;
    const size = set.rows.length > 20000 ? 1.5 : set.rows.length > 2000 ? 2 : 3;
    context.fillStyle = set.rows.length > 20000 ? 'rgba(214, 51, 132, 0.3)' : 'rgba(214, 51, 132, 0.75)';
    set.rows.forEach((row) => {
      const a = row[ra];
      const d = row[dec];
      if (typeof a !== 'number' || typeof d !== 'number' || !Number.isFinite(a) || !Number.isFinite(d) || d < -90 || d > 90) { return; }
      const p = skyToCanvas(a, d);
      context.fillRect(p.x - (size / 2), p.y - (size / 2), size, size);
      drawn += 1;
    });
    skyCanvas.setAttribute('data-points', String(drawn));
    skyCanvas.setAttribute('aria-label', `Sky map of ra and dec (Hammer-Aitoff, RA increasing to the left): ${drawn} points`);
    const left = set.rows.length - drawn;
    skyCaption.textContent = `Sky map (Hammer–Aitoff, centred on RA 0°, graticule every 30°): ${number(drawn)} positions${left ? ` (${number(left)} without a valid position left out)` : ''}.`;
  };

  const drawAll = () => { drawPlot(); drawSky(); };
  if (window.ResizeObserver) {
    // Redraw when a canvas changes size: the window, or its tab becoming visible.
    const sizes = new WeakMap();
    const observer = new ResizeObserver((entries) => {
      entries.forEach((entry) => {
        const width = Math.round(entry.contentRect.width);
        if (sizes.get(entry.target) === width) { return; }
        sizes.set(entry.target, width);
        if (entry.target === plotCanvas) { drawPlot(); } else { drawSky(); }
      });
    });
    observer.observe(plotCanvas);
    observer.observe(skyCanvas);
  } else {
    window.addEventListener('resize', drawAll);
  }

  // ---------------------------------------------------------------- long queries (jobs)

  const jobsRows = $('[data-jobs-rows]');
  const jobsEmpty = $('[data-jobs-empty]');
  const jobsError = $('[data-jobs-error]');
  const jobsLive = $('[data-jobs-live]');
  const jobsBadge = $('[data-jobs-active]');

  const submitJob = async () => {
    const query = getSql();
    const context = state.context;
    clearRunMessages();
    if (editor && editor.closeHint) { editor.closeHint(); }
    if (!query.trim()) { showRunError('Write a query first.'); return; }
    if (!context) { showRunError('Pick a context first.'); return; }
    submitButton.disabled = true;
    try {
      const body = { context, query };
      if (taskName.value.trim()) { body.taskName = taskName.value.trim(); }
      const job = await call('POST', 'jobs', body);
      runMessage.replaceChildren(icon('check-circle'),
        h('span', { 'data-testid': 'submitted-text', text: `Job ${job.id} submitted${job.taskName ? ` (${job.taskName})` : ''}.` }),
        h('button', { type: 'button', class: 'btn btn-link btn-sm p-0 ms-auto alert-link', 'data-testid': 'open-jobs', onclick: () => showTab('jobs') }, 'Follow it in Jobs', icon('arrow-right', 'ms-1')));
      show(runMessage, true);
      await loadJobs(true);
    } catch (error) {
      showRunError(missingRoute(error) ? 'Long queries are not available on this server yet.' : error.message);
    } finally {
      submitButton.disabled = false;
    }
  };
  submitButton.addEventListener('click', () => submitJob());

  let jobsLoading = null;
  // One request at a time: a tab shown while a poll is under way waits for that poll. After a change
  // (submit, cancel, re-run) the list is fetched afresh, as a poll sent before it would not show it.
  const loadJobs = async (fresh) => {
    if (jobsLoading && fresh === true) { await jobsLoading; }
    if (!jobsLoading) { jobsLoading = fetchJobs().finally(() => { jobsLoading = null; }); }
    return jobsLoading;
  };

  const fetchJobs = async () => {
    window.clearTimeout(state.jobsTimer);
    let jobs;
    try {
      jobs = await call('GET', 'jobs?top=50');
    } catch (error) {
      jobsError.textContent = missingRoute(error) ? 'Long queries are not available on this server yet.' : error.message;
      show(jobsError, true);
      jobsLive.textContent = '';
      if (!missingRoute(error) && error.status !== 401) { state.jobsTimer = window.setTimeout(loadJobs, 10000); }
      return;
    }
    show(jobsError, false);
    let finishedTable = false;
    jobs.forEach((job) => {
      const before = state.jobsStatus.get(job.id);
      if (before !== undefined && !FINAL.has(before) && FINAL.has(job.status) && job.createdTable) { finishedTable = true; }
      state.jobsStatus.set(job.id, job.status);
    });
    state.jobs = jobs;
    renderJobs();
    const active = jobs.filter((job) => !FINAL.has(job.status)).length;
    jobsBadge.textContent = String(active);
    jobsBadge.setAttribute('aria-label', `${active} running`);
    show(jobsBadge, active > 0);
    jobsLive.textContent = active > 0 ? `Updating every 2 s while ${active} ${active === 1 ? 'job runs' : 'jobs run'}` : '';
    if (active > 0) { state.jobsTimer = window.setTimeout(loadJobs, 2000); }
    if (finishedTable) {
      if (!$('#pane-mydb').hidden && $('#pane-mydb').classList.contains('active')) { loadMyDb(); }
      if (state.context.toLowerCase() === 'mydb') { loadSchema(state.context); } else { loadPgSchema(state.context); }
    }
  };

  const statusBadge = (job) => {
    const status = typeof job.status === 'number' ? job.status : STATUS_NAMES.indexOf(job.statusName);
    const name = job.statusName || STATUS_NAMES[status] || String(job.status);
    return h('span', { class: `badge ${STATUS_CLASSES[status] || 'text-bg-secondary'}`, 'data-testid': 'job-status', 'data-status': String(status) },
      status === 1 || status === 2 ? h('span', { class: 'spinner-grow spinner-grow-sm me-1 job-spinner', 'aria-hidden': 'true' }) : null,
      name);
  };

  const jobTimes = (job) => {
    const parts = [h('div', { text: `Submitted ${utc(job.submittedAt, true)}` })];
    if (job.startedAt) {
      const end = job.finishedAt ? new Date(job.finishedAt) : null;
      const took = end ? end.getTime() - new Date(job.startedAt).getTime() : null;
      parts.push(h('div', { class: 'text-body-secondary', text: end ? `Ran ${duration(Math.max(0, took))}, until ${utc(job.finishedAt, true).slice(11)}` : `Started ${utc(job.startedAt, true).slice(11)}` }));
    } else if (job.finishedAt) {
      parts.push(h('div', { class: 'text-body-secondary', text: `Ended ${utc(job.finishedAt, true).slice(11)}` }));
    }
    return parts;
  };

  const loadIntoEditor = (context, query) => {
    if (state.contexts.some((c) => c.name === context) && state.context !== context) {
      contextSelect.value = context;
      setContext(context);
    }
    setSql(query);
    showTab('query');
    window.setTimeout(focusEditor, 50);
  };

  const jobAction = async (job, action, button) => {
    button.disabled = true;
    show(jobsError, false);
    try {
      await call('POST', `jobs/${enc(job.id)}/${action}`);
    } catch (error) {
      jobsError.textContent = error.message;
      show(jobsError, true);
    } finally {
      button.disabled = false;
    }
    await loadJobs(true);
  };

  const renderJobs = () => {
    show(jobsEmpty, state.jobs.length === 0);
    jobsRows.replaceChildren(...state.jobs.map((job) => {
      const final = FINAL.has(job.status);
      const actions = h('div', { class: 'btn-group btn-group-sm', role: 'group', 'aria-label': `Actions for job ${job.id}` },
        h('button', {
          type: 'button', class: 'btn btn-outline-secondary', title: 'Load into the editor', 'aria-label': `Load the query of job ${job.id} into the editor`,
          'data-testid': 'job-load', onclick: () => loadIntoEditor(job.context, job.query),
        }, icon('pencil-square')),
        h('button', {
          type: 'button', class: 'btn btn-outline-secondary', title: 'Run again', 'aria-label': `Run job ${job.id} again`,
          'data-testid': 'job-rerun', onclick: (event) => jobAction(job, 'rerun', event.currentTarget),
        }, icon('arrow-repeat')),
        final ? null : h('button', {
          type: 'button', class: 'btn btn-outline-danger', title: 'Cancel', 'aria-label': `Cancel job ${job.id}`,
          'data-testid': 'job-cancel', disabled: job.status === 2, onclick: (event) => jobAction(job, 'cancel', event.currentTarget),
        }, icon('x-octagon')));
      const row = h('tr', { class: 'job-row', 'data-testid': 'job-row', 'data-job': String(job.id), 'data-status': String(job.status) },
        h('td', { class: 'text-nowrap' },
          h('div', { class: 'fw-semibold', text: `#${job.id}` }),
          h('div', { class: 'small text-body-secondary', text: job.context }),
          job.taskName ? h('div', { class: 'small text-body-secondary text-truncate job-task', text: job.taskName }) : null),
        h('td', {}, statusBadge(job)),
        h('td', { class: 'job-query-cell' },
          h('code', { class: 'job-query small', title: job.query, 'data-testid': 'job-query', text: job.query }),
          job.message ? h('div', { class: `small ${job.status === 4 ? 'text-danger' : 'text-body-secondary'} job-message`, 'data-testid': 'job-message', text: job.message }) : null),
        h('td', { class: 'small d-none d-md-table-cell text-nowrap' }, jobTimes(job)),
        h('td', { class: 'text-end', 'data-testid': 'job-rows', text: typeof job.rows === 'number' && job.rows >= 0 ? number(job.rows) : '—' }),
        h('td', { class: 'd-none d-lg-table-cell' }, job.createdTable
          ? h('button', { type: 'button', class: 'btn btn-link btn-sm p-0 font-monospace', 'data-testid': 'job-table', onclick: () => { state.mydbSelected = job.createdTable.replace(/^mydb\./i, ''); showTab('mydb'); } }, job.createdTable)
          : h('span', { class: 'text-body-tertiary', text: '—' })),
        h('td', { class: 'text-end text-nowrap' }, actions));
      row.addEventListener('click', (event) => {
        if (!event.target.closest('button, a')) { loadIntoEditor(job.context, job.query); }
      });
      return row;
    }));
  };

  $('[data-jobs-refresh]').addEventListener('click', () => loadJobs());

  // ---------------------------------------------------------------- MyDB

  const mydbRows = $('[data-mydb-rows]');
  const mydbEmpty = $('[data-mydb-empty]');
  const mydbUsage = $('[data-mydb-usage]');
  const mydbError = $('[data-mydb-error]');
  const mydbMessage = $('[data-mydb-message]');
  const mydbDetail = $('[data-mydb-detail]');
  const mydbShared = $('[data-mydb-shared]');
  const mydbSharedList = $('[data-mydb-shared-list]');

  const mydbFail = (message) => { mydbError.textContent = message; show(mydbError, true); };
  const mydbSay = (message) => { mydbMessage.textContent = message; show(mydbMessage, true); };
  const tablePath = (name) => `mydb/tables/${enc(name)}`;

  let mydbLoading = null;
  const loadMyDb = () => {
    if (!mydbLoading) { mydbLoading = fetchMyDb().finally(() => { mydbLoading = null; }); }
    return mydbLoading;
  };

  const fetchMyDb = async () => {
    show(mydbError, false);
    let info;
    state.mydbFull = true;
    try {
      info = await call('GET', 'mydb');
    } catch (error) {
      if (!missingRoute(error)) { mydbFail(error.message); return; }
      // A server without the MyDB routes still lists the tables as a context.
      try {
        info = { tables: await call('GET', 'contexts/MyDB/tables') };
        state.mydbFull = false;
      } catch (inner) {
        mydbFail(inner.message);
        return;
      }
    }
    state.mydbTables = info.tables || [];
    renderUsage(info);
    renderMyDbTables();
    if (state.mydbSelected && state.mydbTables.some((t) => t.name === state.mydbSelected)) {
      openTable(state.mydbSelected);
    } else {
      state.mydbSelected = null;
      show(mydbDetail, false);
    }
    loadShared();
    loadPgMyDbs();
  };

  const renderUsage = (info) => {
    if (typeof info.usedBytes !== 'number') { mydbUsage.replaceChildren(); return; }
    if (typeof info.quotaBytes === 'number' && info.quotaBytes > 0) {
      const percent = Math.min(100, Math.round((info.usedBytes * 100) / info.quotaBytes));
      mydbUsage.replaceChildren(
        h('div', { class: 'progress quota-bar mb-1', role: 'progressbar', 'aria-label': 'MyDB space used', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(percent) },
          h('div', { class: `progress-bar ${percent >= 90 ? 'bg-danger' : percent >= 70 ? 'bg-warning' : 'bg-success'}`, style: `width: ${percent}%` })),
        h('div', { class: 'small text-body-secondary', 'data-testid': 'mydb-usage-text', text: `${bytes(info.usedBytes)} of ${bytes(info.quotaBytes)} used` }));
    } else {
      mydbUsage.replaceChildren(h('div', { class: 'small text-body-secondary', 'data-testid': 'mydb-usage-text', text: `${bytes(info.usedBytes)} used · no quota` }));
    }
  };

  const renderMyDbTables = () => {
    show(mydbEmpty, state.mydbTables.length === 0);
    mydbRows.replaceChildren(...state.mydbTables.map((table) => h('tr', {
      'data-testid': 'mydb-row', 'data-table': table.name, class: table.name === state.mydbSelected ? 'table-active' : '',
    },
    h('td', {},
      h('button', { type: 'button', class: 'btn btn-link p-0 fw-semibold text-break text-start', 'data-testid': 'mydb-open', onclick: () => openTable(table.name) }, table.name),
      typeof table.columns === 'number' ? h('div', { class: 'small text-body-secondary', text: `${number(table.columns)} columns` }) : null),
    h('td', { class: 'text-end', 'data-testid': 'mydb-rows', text: number(table.rows) }),
    h('td', { class: 'text-end d-none d-md-table-cell', text: bytes(table.sizeBytes) }),
    h('td', { class: 'small text-body-secondary d-none d-md-table-cell', text: utc(table.createdAt) }),
    h('td', { class: 'text-end text-nowrap' },
      h('div', { class: 'btn-group btn-group-sm', role: 'group', 'aria-label': `Actions for ${table.name}` },
        h('button', {
          type: 'button', class: 'btn btn-outline-secondary', title: 'Query it', 'aria-label': `Query ${table.name}`, 'data-testid': 'mydb-query',
          onclick: () => loadIntoEditor('MyDB', `SELECT TOP 100 * FROM ${quoteName(table.name)}`),
        }, icon('terminal')),
        h('button', {
          type: 'button', class: 'btn btn-outline-secondary', title: 'Details, download, share', 'aria-label': `Details of ${table.name}`, 'data-testid': 'mydb-details',
          onclick: () => openTable(table.name),
        }, icon('three-dots')))))));
  };

  const loadShared = async () => {
    if (!state.mydbFull) { show(mydbShared, false); return; }
    try {
      const shared = await call('GET', 'mydb/shared');
      show(mydbShared, shared.length > 0);
      mydbSharedList.replaceChildren(...shared.map((s) => h('li', { class: 'd-flex flex-wrap align-items-center gap-2 py-1', 'data-testid': 'mydb-shared-row' },
        icon('share', 'text-body-secondary'),
        h('span', { text: `${s.table} from ${s.owner}: query it as ` }), h('code', { text: s.queryName }),
        h('button', { type: 'button', class: 'btn btn-link btn-sm p-0', onclick: () => loadIntoEditor('MyDB', `SELECT TOP 100 * FROM ${s.queryName}`) }, 'Query it'))));
    } catch {
      show(mydbShared, false);
    }
  };

  const section = (title, ...children) => h('div', { class: 'mydb-section' }, h('h3', { class: 'h6', text: title }), ...children);

  const openTable = async (name) => {
    state.mydbSelected = name;
    mydbRows.querySelectorAll('tr').forEach((row) => row.classList.toggle('table-active', row.getAttribute('data-table') === name));
    show(mydbMessage, false);
    const table = state.mydbTables.find((t) => t.name === name) || { name };
    const schemaBox = h('div', { 'data-testid': 'mydb-schema' }, h('div', { class: 'small text-body-secondary', text: 'Loading the schema…' }));
    const body = h('div', { class: 'card-body' },
      h('div', { class: 'd-flex flex-wrap align-items-center justify-content-between gap-2 mb-3' },
        h('h2', { id: 'mydb-detail-heading', class: 'h5 mb-0 text-break' }, icon('table', 'me-2 text-primary'), h('span', { 'data-testid': 'mydb-detail-name', text: name })),
        h('button', { type: 'button', class: 'btn-close', 'aria-label': 'Close the details', onclick: () => { state.mydbSelected = null; show(mydbDetail, false); renderMyDbTables(); } })),
      h('div', { class: 'row g-4' },
        h('div', { class: 'col-lg-5' }, section('Columns', schemaBox)),
        h('div', { class: 'col-lg-7 d-flex flex-column gap-3' },
          section('Download', downloadLinks(name)),
          state.mydbFull ? section('Export to a volume', exportForm(name)) : null,
          state.mydbFull ? section('Rename', renameForm(name)) : null,
          state.mydbFull ? section('Share (read-only)', shareBox(name)) : null,
          section('Drop', h('button', {
            type: 'button', class: 'btn btn-outline-danger btn-sm', 'data-testid': 'mydb-drop', onclick: () => dropTable(table),
          }, icon('trash', 'me-1'), `Drop ${name}`)))));
    mydbDetail.replaceChildren(body);
    show(mydbDetail, true);
    try {
      const detail = state.mydbFull ? await call('GET', tablePath(name)) : null;
      const columns = detail ? detail.columns : await call('GET', `contexts/MyDB/tables/${enc(name)}/columns`);
      if (state.mydbSelected !== name) { return; }
      schemaBox.replaceChildren(columnsTable(columns || []));
    } catch (error) {
      schemaBox.replaceChildren(h('div', { class: 'small text-body-secondary', text: missingRoute(error) ? 'The server does not list this table\'s columns.' : error.message }));
    }
  };

  const downloadLinks = (name) => h('div', { class: 'd-flex flex-wrap gap-1', role: 'group', 'aria-label': `Download ${name}` },
    FORMATS.map((format) => h('a', {
      class: 'btn btn-outline-secondary btn-sm', href: new URL(`api/casjobs/${tablePath(name)}/download?format=${format.key}`, document.baseURI).href,
      download: `${name}.${format.ext}`, 'data-testid': `mydb-download-${format.key}`,
    }, icon('download', 'me-1'), format.label)));

  const exportForm = (name) => {
    const id = `export-path-${Math.random().toString(36).slice(2)}`;
    const path = h('input', { id, type: 'text', class: 'form-control form-control-sm font-monospace', value: `Storage/${userName}/persistent/${name}.fits`, 'data-testid': 'mydb-export-path' });
    const format = h('select', { class: 'form-select form-select-sm export-format', 'aria-label': 'Format', 'data-testid': 'mydb-export-format' },
      FORMATS.map((f) => h('option', { value: f.key, text: f.label })));
    format.value = 'fits';
    format.addEventListener('change', () => {
      const chosen = FORMATS.find((f) => f.key === format.value);
      path.value = path.value.replace(/\.(csv|fits|vot|parquet)$/i, `.${chosen.ext}`);
    });
    const overwrite = h('input', { id: `${id}-overwrite`, type: 'checkbox', class: 'form-check-input', 'data-testid': 'mydb-export-overwrite' });
    const form = h('form', {},
      h('label', { for: id, class: 'visually-hidden', text: 'Path of the file in a volume' }),
      h('div', { class: 'd-flex gap-2' }, path, format,
        h('button', { type: 'submit', class: 'btn btn-outline-primary btn-sm text-nowrap', 'data-testid': 'mydb-export' }, icon('box-arrow-up-right', 'me-1'), 'Export')),
      h('div', { class: 'form-text', text: 'A path in one of your volumes, such as Storage/you/persistent/results/table.fits.' }),
      h('div', { class: 'form-check' }, overwrite, h('label', { class: 'form-check-label small', for: `${id}-overwrite`, text: 'Replace a file of that name' })));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      show(mydbError, false);
      try {
        const written = await call('POST', `${tablePath(name)}/export`, { path: path.value.trim(), format: format.value, overwrite: overwrite.checked });
        mydbSay(`Exported ${name} to ${written.path} (${bytes(written.bytes)}).`);
      } catch (error) {
        mydbFail(error.message);
      }
    });
    return form;
  };

  const renameForm = (name) => {
    const input = h('input', { type: 'text', class: 'form-control form-control-sm font-monospace', value: name, 'aria-label': `New name for ${name}`, 'data-testid': 'mydb-rename-name', autocomplete: 'off' });
    const form = h('form', { class: 'd-flex gap-2' }, input, h('button', { type: 'submit', class: 'btn btn-outline-primary btn-sm text-nowrap', 'data-testid': 'mydb-rename' }, 'Rename'));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const to = input.value.trim();
      if (!to || to === name) { return; }
      show(mydbError, false);
      try {
        const renamed = await call('PATCH', tablePath(name), { name: to });
        state.mydbSelected = (renamed && renamed.name) || to;
        await loadMyDb();
        mydbSay(`Renamed ${name} to ${state.mydbSelected}.`);
        if (state.context.toLowerCase() === 'mydb') { loadSchema(state.context); }
      } catch (error) {
        mydbFail(error.message);
      }
    });
    return form;
  };

  const dropTable = async (table) => {
    const rows = typeof table.rows === 'number' ? ` and its ${number(table.rows)} rows` : '';
    if (!window.confirm(`Drop the table ${table.name}${rows} from MyDB? This cannot be undone.`)) { return; }
    show(mydbError, false);
    try {
      if (state.mydbFull) {
        await call('DELETE', tablePath(table.name));
      } else {
        await call('POST', 'contexts/MyDB/query', { query: `DROP TABLE ${quoteName(table.name)}` });
      }
      state.mydbSelected = null;
      await loadMyDb();
      mydbSay(`Dropped ${table.name}.`);
      if (state.context.toLowerCase() === 'mydb') { loadSchema(state.context); }
    } catch (error) {
      mydbFail(error.message);
    }
  };

  const shareBox = (name) => {
    const list = h('ul', { class: 'list-unstyled d-flex flex-wrap gap-1 mb-2', 'data-testid': 'mydb-share-list' });
    const note = h('div', { class: 'small text-body-secondary mb-2', 'data-testid': 'mydb-share-note', text: 'Loading…' });
    let principals = [];
    const render = () => {
      note.textContent = principals.length === 0 ? 'Not shared: only you can query it.' : 'Can query it:';
      list.replaceChildren(...principals.map((p, index) => h('li', { class: 'badge text-bg-light border d-inline-flex align-items-center gap-1', 'data-testid': 'mydb-share-principal', 'data-principal': `${p.kind}:${p.name}` },
        icon(p.kind === 'group' ? 'people' : 'person'), h('span', { text: p.name }),
        h('button', {
          type: 'button', class: 'btn-close btn-close-sm ms-1', 'aria-label': `Stop sharing with ${p.name}`,
          onclick: () => save(principals.filter((_, i) => i !== index)),
        }))));
    };
    const save = async (next) => {
      show(mydbError, false);
      try {
        const saved = await call('PUT', `${tablePath(name)}/sharing`, next);
        principals = Array.isArray(saved) ? saved : next;
        render();
        mydbSay(principals.length ? `${name} is shared with ${principals.map((p) => p.name).join(', ')}.` : `${name} is no longer shared.`);
      } catch (error) {
        mydbFail(error.message);
      }
    };
    const who = h('input', { type: 'text', class: 'form-control form-control-sm', placeholder: 'User or group name', 'aria-label': 'User or group to share with', 'data-testid': 'mydb-share-name', autocomplete: 'off' });
    const kind = h('select', { class: 'form-select form-select-sm share-kind', 'aria-label': 'User or group', 'data-testid': 'mydb-share-kind' },
      h('option', { value: 'user', text: 'User' }), h('option', { value: 'group', text: 'Group' }));
    const form = h('form', { class: 'd-flex gap-2' }, who, kind, h('button', { type: 'submit', class: 'btn btn-outline-primary btn-sm text-nowrap', 'data-testid': 'mydb-share' }, icon('share', 'me-1'), 'Share'));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const principal = { name: who.value.trim(), kind: kind.value };
      if (!principal.name) { return; }
      if (principals.some((p) => p.kind === principal.kind && p.name.toLowerCase() === principal.name.toLowerCase())) { return; }
      save([...principals, principal]).then(() => { who.value = ''; });
    });
    call('GET', `${tablePath(name)}/sharing`).then((current) => { principals = current || []; render(); }).catch((error) => { note.textContent = error.message; });
    return h('div', {}, note, list, form);
  };

  // ---------------------------------------------------------------- MyDB in PostgreSQL databases

  const pgBox = $('[data-pgmydb]');
  const pgList = $('[data-pgmydb-list]');
  const pgError = $('[data-pgmydb-error]');
  const pgMessage = $('[data-pgmydb-message]');
  const pgFail = (message) => { pgError.textContent = message; show(pgError, true); show(pgMessage, false); };
  const pgSay = (message) => { pgMessage.textContent = message; show(pgMessage, true); show(pgError, false); };

  const loadPgMyDbs = async () => {
    const mydbs = await fetchPgMyDbs();
    show(pgBox, mydbs.length > 0);
    pgList.replaceChildren(...mydbs.map((schema) => pgSchemaCard(schema)));
  };

  const pgSchemaCard = (schema) => {
    const percent = schema.quotaBytes > 0 ? Math.min(100, Math.round((schema.usedBytes * 100) / schema.quotaBytes)) : 0;
    const context = (schema.contexts || [])[0];
    return h('div', { class: 'mb-4', 'data-testid': 'pgmydb-schema', 'data-server': schema.server, 'data-database': schema.database },
      h('h3', { class: 'h6 mb-1' }, icon('server', 'me-1 text-primary'), h('span', { 'data-testid': 'pgmydb-name', text: `${schema.server} / ${schema.database}` }),
        h('span', { class: 'small text-body-secondary ms-2 font-monospace', text: schema.schema })),
      h('div', { class: 'small text-body-secondary mb-1', text: `Reached from ${(schema.contexts || []).join(', ') || 'no context'} as mydb.name.` }),
      h('div', { class: 'progress quota-bar mb-1', role: 'progressbar', 'aria-label': `MyDB space used in ${schema.database}`, 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(percent) },
        h('div', { class: `progress-bar ${percent >= 90 ? 'bg-danger' : percent >= 70 ? 'bg-warning' : 'bg-success'}`, style: `width: ${percent}%` })),
      h('div', { class: 'small text-body-secondary mb-2', 'data-testid': 'pgmydb-usage-text', text: `${bytes(schema.usedBytes)} of ${bytes(schema.quotaBytes)} used` }),
      schema.tables.length === 0
        ? h('div', { class: 'small text-body-secondary', 'data-testid': 'pgmydb-empty', text: 'No tables yet.' })
        : h('div', { class: 'table-responsive' }, h('table', { class: 'table table-sm table-hover align-middle mb-0', 'data-testid': 'pgmydb-table' },
          h('thead', {}, h('tr', {},
            h('th', { scope: 'col', text: 'Table' }), h('th', { scope: 'col', class: 'text-end', text: 'Rows' }),
            h('th', { scope: 'col', class: 'text-end d-none d-md-table-cell', text: 'Size' }), h('th', { scope: 'col', class: 'text-end' }, h('span', { class: 'visually-hidden', text: 'Actions' })))),
          h('tbody', {}, schema.tables.flatMap((table) => pgTableRow(schema, table, context))))));
  };

  const pgTableRow = (schema, table, context) => {
    const columnsRow = h('tr', { hidden: true, 'data-testid': 'pgmydb-columns' }, h('td', { colspan: '4' }));
    const row = h('tr', { 'data-testid': 'pgmydb-row', 'data-table': table.name },
      h('td', {},
        h('span', { class: 'fw-semibold text-break font-monospace', text: table.name }),
        h('div', { class: 'small text-body-secondary', text: `${number(table.columns)} columns` })),
      h('td', { class: 'text-end', 'data-testid': 'pgmydb-rows', text: number(table.rows) }),
      h('td', { class: 'text-end d-none d-md-table-cell', text: bytes(table.sizeBytes) }),
      h('td', { class: 'text-end text-nowrap' },
        h('div', { class: 'btn-group btn-group-sm', role: 'group', 'aria-label': `Actions for ${table.name}` },
          context ? h('button', {
            type: 'button', class: 'btn btn-outline-secondary', title: `Query it in ${context}`, 'aria-label': `Query ${table.name}`, 'data-testid': 'pgmydb-query',
            onclick: () => loadIntoEditor(context, `SELECT TOP 100 * FROM mydb.${quoteName(table.name)}`),
          }, icon('terminal')) : null,
          h('button', {
            type: 'button', class: 'btn btn-outline-secondary', title: 'Columns', 'aria-label': `Columns of ${table.name}`, 'data-testid': 'pgmydb-show-columns',
            onclick: async () => {
              columnsRow.hidden = !columnsRow.hidden;
              if (columnsRow.hidden) { return; }
              const cell = columnsRow.firstChild;
              cell.replaceChildren(h('div', { class: 'small text-body-secondary', text: 'Loading the columns…' }));
              try {
                const detail = await call('GET', pgTablePath(schema, table.name));
                cell.replaceChildren(columnsTable(detail.columns || []));
              } catch (error) {
                cell.replaceChildren(h('div', { class: 'small text-danger', text: error.message }));
              }
            },
          }, icon('list-columns')),
          h('button', {
            type: 'button', class: 'btn btn-outline-secondary', title: 'Rename', 'aria-label': `Rename ${table.name}`, 'data-testid': 'pgmydb-rename',
            onclick: () => renamePgTable(schema, table),
          }, icon('pencil')),
          h('button', {
            type: 'button', class: 'btn btn-outline-danger', title: 'Drop', 'aria-label': `Drop ${table.name}`, 'data-testid': 'pgmydb-drop',
            onclick: () => dropPgTable(schema, table),
          }, icon('trash')))));
    return [row, columnsRow];
  };

  const renamePgTable = async (schema, table) => {
    const to = window.prompt(`New name for ${table.name} in ${schema.database} (letters, digits and _; lower case):`, table.name);
    if (!to || to === table.name) { return; }
    try {
      const renamed = await call('PATCH', pgTablePath(schema, table.name), { name: to });
      await loadPgMyDbs();
      pgSay(`Renamed ${table.name} to ${(renamed && renamed.name) || to} in ${schema.database}.`);
      if (state.pgSchema && state.pgSchema.database === schema.database && state.pgSchema.server === schema.server) { loadPgSchema(state.context); }
    } catch (error) {
      pgFail(error.message);
    }
  };

  const dropPgTable = async (schema, table) => {
    if (!window.confirm(`Drop the table ${table.name} and its ${number(table.rows)} rows from your MyDB in ${schema.database}? This cannot be undone.`)) { return; }
    try {
      await call('DELETE', pgTablePath(schema, table.name));
      await loadPgMyDbs();
      pgSay(`Dropped ${table.name} from ${schema.database}.`);
      if (state.pgSchema && state.pgSchema.database === schema.database && state.pgSchema.server === schema.server) { loadPgSchema(state.context); }
    } catch (error) {
      pgFail(error.message);
    }
  };

  $('[data-mydb-refresh]').addEventListener('click', () => loadMyDb());

  // ---------------------------------------------------------------- start

  loadContexts();
  loadJobs();
  const initial = window.location.hash.replace('#', '');
  if (initial === 'mydb' || initial === 'jobs') { showTab(initial); }
  page.setAttribute('data-ready', 'true');
}
