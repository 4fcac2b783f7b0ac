// Loaded in <head>, before the style sheet: the theme chosen in this browser (light or dark; otherwise the
// system's, through prefers-color-scheme) applies before the first paint, and the "js" class lets the style
// sheet show what only works with JavaScript (copy buttons, the theme switch).
(() => {
  const root = document.documentElement;
  root.classList.add("js");
  let theme = null;
  try {
    theme = localStorage.getItem("thumbs-theme");
  } catch {
    // Storage blocked (private mode, policy): the system's theme.
  }
  if (theme === "light" || theme === "dark") root.dataset.theme = theme;
})();
