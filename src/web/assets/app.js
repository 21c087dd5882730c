// Small enhancements; every page works without them.
document.addEventListener('DOMContentLoaded', () => {
  // "Select all" checkbox on worklists.
  for (const all of document.querySelectorAll('input[data-select-all]')) {
    all.addEventListener('change', () => {
      for (const box of document.querySelectorAll(`input[name="${all.dataset.selectAll}"]`)) box.checked = all.checked;
    });
  }
});
