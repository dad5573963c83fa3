// WhatsApp message page: "Copy JSON" copies the message (no inline script: the CSP allows none).
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var source = document.getElementById(button.getAttribute("data-copy"));
  source.select();
  if (navigator.clipboard) {
    navigator.clipboard.writeText(source.value);
  } else {
    document.execCommand("copy");
  }
  button.textContent = "Copied";
});
