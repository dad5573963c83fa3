// Merchant pages: a <select data-autosubmit> submits its form when changed. An event
// listener in a static file, not an onchange attribute: the Content-Security-Policy
// allows no inline script.
document.addEventListener("change", function (event) {
  var field = event.target;
  if (field.matches && field.matches("select[data-autosubmit]") && field.form) {
    field.form.submit();
  }
});
