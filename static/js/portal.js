// After htmx swaps in a whole new page (hx-boost), move focus to its main heading, so that a
// screen reader announces the new page as it would after a full page load.
document.addEventListener("htmx:afterSettle", function (event) {
  var detail = event.detail || {};
  var boosted = detail.boosted || (detail.requestConfig && detail.requestConfig.boosted);
  if (!boosted) return;
  var heading = document.querySelector("main h1");
  if (!heading) return;
  heading.setAttribute("tabindex", "-1");
  heading.focus({ preventScroll: false });
});
