// Progressive enhancement only: every page works without this file.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(
    () => { button.textContent = "Copied"; setTimeout(() => { button.textContent = "Copy"; }, 1500); },
    () => { button.textContent = "Select and copy by hand"; },
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
    dialog.setAttribute("aria-label", "Screenshot");
    const figure = document.createElement("figure");
    const image = document.createElement("img");
    const caption = document.createElement("figcaption");
    figure.append(image, caption);
    const nav = document.createElement("div");
    nav.className = "lightbox-nav";
    const button = (label, action) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "small";
      b.textContent = label;
      b.addEventListener("click", action);
      return b;
    };
    const open = document.createElement("a");
    open.textContent = "Open the image";
    open.rel = "noreferrer";
    nav.append(
      button("← Previous", () => this.step(-1)),
      button("Next →", () => this.step(1)),
      open,
      button("Close", () => dialog.close()),
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
    this.image.alt = thumbnail ? thumbnail.alt : "Screenshot";
    this.caption.textContent = `${link.dataset.caption || ""} (${this.index + 1} of ${this.links.length})`;
    this.open.href = link.href;
    for (const b of this.nav.querySelectorAll("button")) {
      if (b.textContent !== "Close") b.hidden = this.links.length < 2;
    }
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
