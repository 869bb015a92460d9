/* Checkout: copy buttons and status polling. The page is complete without this file. */
(function () {
  "use strict";
  var root = document.documentElement;
  root.className = root.className.replace(/\bno-js\b/, "js");

  var COPIED = "Đã chép";
  var FAILED = "Hãy chép tay";

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.top = "-100px";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }

  function announce(message) {
    var live = document.getElementById("copy-live");
    if (live) { live.textContent = message; }
  }

  function feedback(button, ok) {
    var label = button.querySelector(".copy__text");
    button.setAttribute("data-state", ok ? "ok" : "fail");
    label.textContent = ok ? COPIED : FAILED;
    announce(ok ? "Đã sao chép " + button.getAttribute("data-copy")
                : "Không sao chép được, hãy chọn và chép tay");
    if (!ok) {
      var value = button.parentNode.querySelector(".value");
      if (value && window.getSelection) {
        var range = document.createRange();
        range.selectNodeContents(value);
        window.getSelection().removeAllRanges();
        window.getSelection().addRange(range);
      }
    }
    clearTimeout(button._reset);
    button._reset = setTimeout(function () {
      button.removeAttribute("data-state");
      label.textContent = "Sao chép";
    }, 3000);
  }

  function copy(button) {
    var text = button.getAttribute("data-copy");
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { feedback(button, true); },
        function () { feedback(button, fallbackCopy(text)); });
    } else {
      feedback(button, fallbackCopy(text));
    }
  }

  function poll(main) {
    var url = main.getAttribute("data-status-url");
    var status = main.getAttribute("data-status");
    var paid = main.getAttribute("data-paid");
    var delay = 5000, polls = 0;

    function changed(data) {
      var box = document.getElementById("status");
      document.getElementById("status-label").textContent = data.label;
      box.className = "status status--" + data.status;
      // the server renders the new state in full (receipts, amounts left): fetch it
      setTimeout(function () { window.location.reload(); }, 1200);
    }

    function tick() {
      polls += 1;
      if (polls > 120) { delay = 15000; }
      if (document.hidden) { return schedule(); }
      var xhr = new XMLHttpRequest();
      xhr.open("GET", url);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.onload = function () {
        var data = null;
        if (xhr.status === 200) {
          try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
        }
        if (data && (data.status !== status || String(data.paid_amount) !== paid)) {
          return changed(data);
        }
        schedule();
      };
      xhr.onerror = schedule;
      xhr.send();
    }

    function schedule() { setTimeout(tick, delay); }
    schedule();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var buttons = document.querySelectorAll("button.copy");
    for (var i = 0; i < buttons.length; i += 1) {
      buttons[i].addEventListener("click", function (event) { copy(event.currentTarget); });
    }
    var main = document.getElementById("main");
    if (main && main.getAttribute("data-open") === "true") { poll(main); }
  });
}());
