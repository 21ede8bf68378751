// A table or code block that scrolls sideways (on a phone) gets a tab stop, so that it can be
// scrolled from the keyboard too (axe-core: scrollable-region-focusable).
document.addEventListener("DOMContentLoaded", () => {
  const markScrollable = () => {
    for (const el of document.querySelectorAll(".pst-scrollable-table-container, .bd-article pre")) {
      if (el.scrollWidth > el.clientWidth && !el.hasAttribute("tabindex")) {
        el.setAttribute("tabindex", "0");
      }
    }
  };
  markScrollable();
  window.addEventListener("resize", markScrollable);
});

// docutils marks the bibliography role="list" without list items: a screen reader would announce
// an empty list (axe-core: aria-required-children). Its entries read fine as plain blocks.
document.addEventListener("DOMContentLoaded", () => {
  for (const el of document.querySelectorAll('.citation-list[role="list"]')) {
    el.removeAttribute("role");
  }
});
