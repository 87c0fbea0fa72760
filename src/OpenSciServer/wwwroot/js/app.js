// Small progressive enhancements for the statically rendered dashboard.
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
  const confirmButton = event.target.closest('[data-confirm]');
  if (confirmButton && !window.confirm(confirmButton.getAttribute('data-confirm'))) {
    event.preventDefault();
  }
});
