// Embeds the web chat on any page: <script src="https://CHAT-SERVER/widget.js" defer></script>
// adds an "Ask a question" button that opens the chat in a panel (an iframe of the chat
// server, which must list this site in WEB_CHAT_EMBED_ORIGINS). Focus moves into the chat
// when it opens and back to the button when it closes. "Leave this site" inside the chat
// blanks and leaves this page too.
"use strict";

(() => {
  const script = document.currentScript;
  if (!script) return;
  const origin = new URL(script.src).origin;
  const EXIT_TO = "https://www.bbc.co.uk/weather";

  const style = document.createElement("link");
  style.rel = "stylesheet";
  style.href = origin + "/widget.css";
  document.head.append(style);

  const launcher = document.createElement("button");
  launcher.type = "button";
  launcher.className = "herts-chat-launcher";
  launcher.textContent = "Ask a question";
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "herts-chat-panel");

  const region = document.createElement("aside");
  region.setAttribute("aria-label", "Community safety chat");

  const panel = document.createElement("div");
  panel.id = "herts-chat-panel";
  panel.className = "herts-chat-panel";
  panel.hidden = true;

  const bar = document.createElement("div");
  bar.className = "herts-chat-bar";
  const title = document.createElement("span");
  title.textContent = "Community safety chat";
  const close = document.createElement("button");
  close.type = "button";
  close.className = "herts-chat-close";
  close.textContent = "Close";
  bar.append(title, close);
  panel.append(bar);

  let frame = null;

  function open() {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.title = "Community safety chat";
      frame.src = origin + "/?embed=1";
      frame.addEventListener("load", () => frame.contentWindow.focus());
      panel.append(frame);
    }
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    frame.contentWindow && frame.contentWindow.focus();
  }

  function shut() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  launcher.addEventListener("click", () => (panel.hidden ? open() : shut()));
  close.addEventListener("click", shut);
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") shut();
  });

  window.addEventListener("message", (event) => {
    if (event.origin !== origin || !frame || event.source !== frame.contentWindow) return;
    const what = event.data && event.data.hertsChat;
    if (what === "leave") {
      document.body.textContent = "";
      document.title = "";
      window.location.replace(EXIT_TO);
    } else if (what === "close") {
      shut();
    }
  });

  region.append(panel, launcher);
  document.body.append(region);
})();
