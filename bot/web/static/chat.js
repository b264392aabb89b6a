// The web chat page: sends questions to /api, shows replies and their buttons, keeps the
// conversation in this tab's sessionStorage only, and leaves at once on "Leave this site"
// or Shift pressed three times. Replies arrive as HTML the server has already reduced to
// <b>, <i>, <br> and safe links; the resident's own words are only ever set as text.
"use strict";

(() => {
  const KEY = "herts-chat";
  const EXIT_TO = "https://www.bbc.co.uk/weather";
  const SHIFTS = 3;
  const SHIFT_WINDOW_MS = 2000;
  const embedded = window.top !== window;

  const log = document.getElementById("log");
  const form = document.getElementById("ask");
  const input = document.getElementById("text");
  const send = document.getElementById("send");
  const status = document.getElementById("status");

  // The sticky top bar (with "Leave this site") covers the top of the page: the CSS's
  // scroll-padding keeps a scrolled-to reply below the bar's height, which changes as its
  // words wrap on a narrow screen or when zoomed.
  const bar = document.querySelector(".top");
  new ResizeObserver(() => {
    document.documentElement.style.setProperty("--bar-height", bar.offsetHeight + "px");
  }).observe(bar);

  // -- leaving quickly

  function leave() {
    document.body.textContent = "";
    document.title = "";
    try {
      sessionStorage.clear();
    } catch (e) {
      // storage already unavailable: nothing to clear
    }
    if (embedded) {
      // widget.js leaves the host page, which takes this frame with it; the frame leaves
      // by itself only if nobody answers (a page that framed the chat without widget.js).
      window.parent.postMessage({ hertsChat: "leave" }, "*");
      setTimeout(() => window.location.replace(EXIT_TO), 500);
    } else {
      window.location.replace(EXIT_TO);
    }
  }

  let shifts = [];
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Shift") {
      shifts = [];
      if (event.key === "Escape" && embedded) {
        window.parent.postMessage({ hertsChat: "close" }, "*");
      }
      return;
    }
    if (event.repeat) return;
    const now = Date.now();
    shifts = shifts.filter((at) => now - at < SHIFT_WINDOW_MS).concat(now);
    if (shifts.length >= SHIFTS) leave();
  });
  document.getElementById("leave").addEventListener("click", leave);

  // -- the conversation, in this tab only

  function fresh() {
    return { session: null, items: [] };
  }

  function load() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(KEY) || "null");
      return saved && Array.isArray(saved.items) ? saved : fresh();
    } catch (e) {
      return fresh();
    }
  }

  let state = load();

  function save() {
    try {
      sessionStorage.setItem(KEY, JSON.stringify(state));
    } catch (e) {
      // full or blocked: the chat goes on without being kept
    }
  }

  function bubble(who, label) {
    const item = document.createElement("div");
    item.className = "msg " + who;
    const name = document.createElement("p");
    name.className = "who";
    name.textContent = label;
    item.append(name);
    return item;
  }

  function showYou(text) {
    const item = bubble("you", "You");
    const body = document.createElement("div");
    body.className = "body";
    body.textContent = text;
    item.append(body);
    log.append(item);
    return item;
  }

  function showBot(message, live) {
    const item = bubble("bot", "Assistant");
    if (message.kind === "emergency" || message.kind === "crisis") item.classList.add("urgent");
    const body = document.createElement("div");
    body.className = "body";
    if (message.lang) body.lang = message.lang;
    body.innerHTML = message.html; // sanitised by the server (bot/web/markup.py)
    item.append(body);
    if (live) addButtons(item, message);
    log.append(item);
    return item;
  }

  // Buttons in a labelled group; a press removes them (or ``whole``, the list they are in).
  function choices(item, label, buttons, press, whole) {
    const group = document.createElement("div");
    group.className = "choices";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", label);
    for (const choice of buttons) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = choice.danger ? "choice danger" : "choice";
      button.textContent = choice.label;
      button.addEventListener("click", () => {
        (whole || group).remove(); // pressed once, as Telegram drops a message's buttons
        input.focus();
        press(choice);
      });
      group.append(button);
    }
    item.append(group);
  }

  // After a 👎: the topics by group, each group a disclosure to open, then the buttons.
  function topicGroups(item, message, press) {
    const list = document.createElement("div");
    list.className = "groups";
    for (const group of message.groups) {
      const details = document.createElement("details");
      const summary = document.createElement("summary");
      summary.textContent = group.title;
      details.append(summary);
      choices(details, group.title, group.buttons, press, list);
      list.append(details);
    }
    if (message.buttons.length) choices(list, "Choices", message.buttons, press, list);
    item.append(list);
  }

  function addButtons(item, message) {
    const press = (choice) => call("/api/button", { ref: message.ref, data: choice.data });
    if (message.groups && message.groups.length) topicGroups(item, message, press);
    else if (message.buttons.length) choices(item, "Choices", message.buttons, press);
    if (message.feedback) {
      const votes = [
        { label: "👍 Helpful", helpful: true },
        { label: "👎 Not helpful", helpful: false },
      ];
      choices(item, "Was this helpful?", votes, (vote) =>
        call("/api/feedback", { ref: message.ref, helpful: vote.helpful }),
      );
    }
  }

  function remember(who, content, lang, kind) {
    state.items.push({ who, content, lang: lang || null, kind: kind || null });
    save();
  }

  function restore() {
    for (const item of state.items) {
      if (item.who === "you") showYou(item.content);
      else showBot({ html: item.content, lang: item.lang, kind: item.kind }, false);
    }
  }

  // -- talking to the server

  function say(text) {
    status.textContent = "";
    status.textContent = text || "";
  }

  async function call(path, body) {
    send.disabled = true;
    try {
      const response = await fetch(path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ ...body, session: state.session }),
        credentials: "omit",
        cache: "no-store",
      });
      const data = await response.json();
      if (!response.ok) {
        say(data.error || "Sorry, something went wrong. In an emergency, call 999.");
        return null;
      }
      if (data.session) state.session = data.session;
      say(data.notice);
      if (data.message) {
        const shown = showBot(data.message, true);
        remember("bot", data.message.html, data.message.lang, data.message.kind);
        shown.scrollIntoView({ block: "nearest" }); // a long reply: its first line shows
      }
      save();
      return data;
    } catch (e) {
      say("Sorry, the assistant can't be reached just now. In an emergency, call 999.");
      return null;
    } finally {
      send.disabled = false;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) {
      say("Type your question first.");
      input.focus();
      return;
    }
    input.value = "";
    showYou(text);
    remember("you", text);
    call("/api/message", { text });
    input.focus();
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  document.getElementById("clear").addEventListener("click", async () => {
    if (state.session) await call("/api/forget", {});
    else say("This chat is cleared.");
    for (const item of Array.from(log.querySelectorAll(".msg")).slice(1)) item.remove();
    state = fresh();
    save();
    input.focus();
  });

  if (embedded) document.documentElement.classList.add("embedded");
  restore();
  input.focus();
})();
