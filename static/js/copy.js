/* Copy buttons, no build step: <button type="button" data-copy="ID"> copies the value of the field with that id. */
(function () {
  "use strict";

  function copy(field) {
    field.select(); // selected, the text can still be copied by hand when both ways below fail
    // The Clipboard API exists only on secure origins (https, localhost); elsewhere copy the selection.
    if (navigator.clipboard) return navigator.clipboard.writeText(field.value);
    return document.execCommand("copy") ? Promise.resolve() : Promise.reject();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    if (!button.dataset.label) button.dataset.label = button.textContent; // not "Copied" on a second click
    copy(document.getElementById(button.dataset.copy)).then(
      function () { button.textContent = "Copied"; },
      function () { button.textContent = "Copy failed"; }
    );
    setTimeout(function () { button.textContent = button.dataset.label; }, 2000);
  });
})();
