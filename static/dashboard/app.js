// Progressive enhancement only: every page works without this file.

// Words shown by this file come translated from the page (base.html's data-t-* attributes on <body>).
const say = (key, fallback) => document.body.dataset[key] || fallback;

// The browser's time zone, for pages that show times in it until the operator picks one (Settings).
try {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  // IANA names (Asia/Shanghai, Etc/GMT+8) are cookie-safe as they are; the server checks the name.
  if (/^[A-Za-z0-9_+\-/]{1,64}$/.test(zone || "")) {
    document.cookie = `thumbs_tz=${zone}; path=/; max-age=31536000; SameSite=Lax`;
  }
} catch {
  // No Intl time zone: the pages show UTC.
}

// Copy buttons: data-copy names the element whose text is copied. A text button says "Copied" for a
// moment; an icon button (class "copy") shows it through its title and a class.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  const icon = button.classList.contains("copy");
  const before = icon ? button.title : button.textContent;
  const show = (text, copied) => {
    if (icon) {
      button.title = text;
      button.classList.toggle("copied", copied);
    } else {
      button.textContent = text;
    }
  };
  navigator.clipboard.writeText(source.textContent.trim()).then(
    () => {
      show(say("tCopied", "Copied"), true);
      setTimeout(() => show(before, false), 1500);
    },
    () => show(say("tCopyFailed", "Select and copy by hand"), false),
  );
});

// Screenshots open full size in a dialog; without this file each thumbnail is a plain link to its image.
// Built with DOM calls (no HTML strings): captions and URLs come from the provider.
const lightbox = {
  dialog: null,
  links: [],
  index: 0,

  build() {
    const dialog = document.createElement("dialog");
    dialog.className = "lightbox";
    dialog.setAttribute("aria-label", say("tScreenshot", "Screenshot"));
    const figure = document.createElement("figure");
    const image = document.createElement("img");
    const caption = document.createElement("figcaption");
    figure.append(image, caption);
    const nav = document.createElement("div");
    nav.className = "lightbox-nav";
    const button = (label, action, role = "step") => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "small";
      b.dataset.role = role;
      b.textContent = label;
      b.addEventListener("click", action);
      return b;
    };
    const open = document.createElement("a");
    open.textContent = say("tOpenImage", "Open the image");
    open.rel = "noreferrer";
    nav.append(
      button(say("tPrevious", "← Previous"), () => this.step(-1)),
      button(say("tNext", "Next →"), () => this.step(1)),
      open,
      button(say("tClose", "Close"), () => dialog.close(), "close"),
    );
    dialog.append(figure, nav);
    // A click on the backdrop (the dialog itself, outside its content) closes it.
    dialog.addEventListener("click", (event) => { if (event.target === dialog) dialog.close(); });
    dialog.addEventListener("keydown", (event) => {
      if (event.key === "ArrowLeft") this.step(-1);
      if (event.key === "ArrowRight") this.step(1);
    });
    document.body.append(dialog);
    Object.assign(this, { dialog, image, caption, open, nav });
  },

  show(link) {
    if (!this.dialog) this.build();
    const group = link.dataset.lightbox;
    this.links = [...document.querySelectorAll("a[data-lightbox]")].filter((a) => a.dataset.lightbox === group);
    this.index = Math.max(this.links.indexOf(link), 0);
    this.render();
    if (!this.dialog.open) this.dialog.showModal();
  },

  step(by) {
    if (this.links.length < 2) return;
    this.index = (this.index + by + this.links.length) % this.links.length;
    this.render();
  },

  render() {
    const link = this.links[this.index];
    const thumbnail = link.querySelector("img");
    this.image.src = link.href;
    this.image.alt = thumbnail ? thumbnail.alt : say("tScreenshot", "Screenshot");
    const count = say("tNOfTotal", "{n} of {total}").replace("{n}", this.index + 1).replace("{total}", this.links.length);
    this.caption.textContent = `${link.dataset.caption || ""} (${count})`;
    this.open.href = link.href;
    for (const b of this.nav.querySelectorAll("button[data-role=step]")) b.hidden = this.links.length < 2;
  },
};

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-lightbox]");
  // Ctrl/Cmd/Shift-click and middle-click keep the browser's own meaning (a new tab or window).
  if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
  if (typeof HTMLDialogElement !== "function") return;
  event.preventDefault();
  lightbox.show(link);
});

// The theme switch (hidden without JavaScript): light, dark, or the system's; remembered in this browser.
const themeSwitch = document.getElementById("theme-switch");
if (themeSwitch) {
  const root = document.documentElement;
  themeSwitch.value = root.dataset.theme || "system";
  themeSwitch.closest(".theme-switch").hidden = false;
  themeSwitch.addEventListener("change", () => {
    const theme = themeSwitch.value;
    if (theme === "light" || theme === "dark") root.dataset.theme = theme;
    else delete root.dataset.theme;
    try {
      if (theme === "system") localStorage.removeItem("thumbs-theme");
      else localStorage.setItem("thumbs-theme", theme);
    } catch {
      // Not remembered: the choice lasts for this page only.
    }
  });
}

// "/" jumps to the search box (the history's), unless the operator is typing somewhere.
document.addEventListener("keydown", (event) => {
  if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
  const here = event.target;
  if (here.closest && here.closest("input, textarea, select, [contenteditable]:not([contenteditable=false])")) return;
  const search = document.querySelector("input[type=search]");
  if (!search) return;
  event.preventDefault();
  search.focus();
  search.select();
});

// A form marked data-busy (a submission that waits on ZEGO) shows that it is working: its submit button is
// disabled, with a spinner. Without JavaScript the form posts all the same, and a second post of the same
// form shows the task the first one made.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.matches("form[data-busy]") || event.defaultPrevented) return;
  const submitter = event.submitter;
  if (submitter && (submitter.getAttribute("formmethod") || "").toLowerCase() === "get") return;
  form.classList.add("is-busy");
  form.setAttribute("aria-busy", "true");
  for (const note of form.querySelectorAll(".busy-note[data-text]")) note.textContent = note.dataset.text;
  // After this turn: the browser has taken the form's data (the submitter's included) by then.
  setTimeout(() => {
    for (const button of form.querySelectorAll("button[type=submit]:not([formmethod])")) button.disabled = true;
  });
});
// Back and resubmit shows the task already made: the form's one-time token is kept in this history entry's
// state when the form is sent, and put back when the entry is shown again (Back, Forward, reload), even when
// the browser fetches the page anew with a fresh token. The browser itself restores what was typed.
for (const token of document.querySelectorAll("form input[type=hidden][name=submission_token]")) {
  const kept = history.state && history.state.thumbsSubmissionToken;
  if (kept) token.value = kept;
  token.form.addEventListener("submit", (event) => {
    if ((event.submitter?.getAttribute("formmethod") || "").toLowerCase() === "get") return;
    history.replaceState({ ...history.state, thumbsSubmissionToken: token.value }, "");
  });
}

// Back to a page kept in the back/forward cache: its form is ready again.
window.addEventListener("pageshow", (event) => {
  if (!event.persisted) return;
  for (const form of document.querySelectorAll("form.is-busy")) {
    form.classList.remove("is-busy");
    form.removeAttribute("aria-busy");
    for (const note of form.querySelectorAll(".busy-note")) note.textContent = "";
    for (const button of form.querySelectorAll("button[type=submit]")) button.disabled = false;
  }
});

// Retry of a permanent code: its form holds a <dialog> that says why it will probably fail again. The Retry
// button opens it; "Retry anyway" inside it posts the form with confirm=yes. Without JavaScript (or without
// <dialog>) the button posts at once and the server answers with its confirmation page.
document.addEventListener("click", (event) => {
  const opener = event.target.closest("button[data-opens]");
  if (opener) {
    const dialog = document.getElementById(opener.dataset.opens);
    if (!dialog || typeof dialog.showModal !== "function") return;
    event.preventDefault();
    dialog.showModal();
    return;
  }
  const closer = event.target.closest("dialog button[data-closes]");
  if (closer) closer.closest("dialog").close();
});
