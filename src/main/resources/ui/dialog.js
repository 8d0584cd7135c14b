// The one confirmation dialog (<dialog id="confirm">): every change to a key goes through it.

/**
 * Asks to confirm a change. fields are extra inputs shown in the dialog (each with a name). Resolves to an object
 * of their values when confirmed, null when cancelled (Cancel or Escape).
 */
export function confirmChange({title, text, action, danger = false, fields = []}) {
  const dialog = document.getElementById('confirm');
  const form = document.getElementById('confirm-form');
  const ok = document.getElementById('confirm-ok');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-fields').replaceChildren(...fields);
  ok.textContent = action;
  ok.classList.toggle('danger', danger);
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      if (dialog.returnValue !== 'ok') {
        resolve(null);
        return;
      }
      const values = {};
      for (const input of form.querySelectorAll('#confirm-fields [name]')) {
        values[input.name] = input.value;
      }
      resolve(values);
    }, {once: true});
    dialog.showModal();
  });
}
