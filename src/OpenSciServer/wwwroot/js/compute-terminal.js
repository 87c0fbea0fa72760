// A session's terminal (Web/Pages/Compute/SessionTerminal.razor): xterm.js speaking terminado's protocol
// (["stdin", text], ["set_size", rows, cols, height, width] out; ["stdout", text], ["disconnect"] in) over
// the session's terminal WebSocket, which the platform's proxy forwards to the session's Jupyter.

const root = document.querySelector('[data-session-terminal]');
const screen = root && root.querySelector('[data-terminal-screen]');
if (screen && window.Terminal && window.WebSocket) {
  const stateText = root.querySelector('[data-terminal-state]');
  const setState = (text) => { stateText.textContent = text; };
  const term = new window.Terminal({ cursorBlink: true, fontSize: 14, scrollback: 5000, convertEol: false });
  const fit = window.FitAddon ? new window.FitAddon.FitAddon() : null;
  if (fit) { term.loadAddon(fit); }
  term.open(screen);
  if (fit) { fit.fit(); }

  const url = new URL(root.getAttribute('data-socket'), document.baseURI);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(url);
  const sendSize = () => {
    if (socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(['set_size', term.rows, term.cols, window.innerHeight, window.innerWidth]));
    }
  };
  socket.addEventListener('open', () => {
    setState('Connected');
    root.setAttribute('data-connected', '');
    sendSize();
    term.focus();
  });
  socket.addEventListener('message', (event) => {
    let message;
    try { message = JSON.parse(event.data); } catch { return; }
    if (message[0] === 'stdout') {
      term.write(message[1]);
    } else if (message[0] === 'disconnect') {
      term.write('\r\n\r\n[The shell ended]\r\n');
    }
  });
  socket.addEventListener('close', () => {
    root.removeAttribute('data-connected');
    setState('Disconnected: reload to open the terminal again (it keeps running while the session runs).');
  });
  term.onData((data) => {
    if (socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify(['stdin', data])); }
  });
  term.onTitleChange((title) => { document.title = title; });
  window.addEventListener('resize', () => {
    if (fit) { fit.fit(); }
    sendSize();
  });

  /** The screen as text, for people who want to copy it and for tests (rows may be drawn on a canvas). */
  window.sessionTerminalText = () => {
    const buffer = term.buffer.active;
    const lines = [];
    for (let i = 0; i < buffer.length; i += 1) {
      const line = buffer.getLine(i);
      if (line) { lines.push(line.translateToString(true)); }
    }
    return lines.join('\n');
  };
}
