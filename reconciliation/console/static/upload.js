// Upload progress for large statements. Without this script the form posts normally.
(function () {
  "use strict";
  var form = document.getElementById("upload");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var box = document.getElementById("upload-progress");
    var bar = document.getElementById("upload-bar");
    var pct = document.getElementById("upload-pct");
    var button = form.querySelector("button[type=submit]");
    var xhr = new XMLHttpRequest();
    box.hidden = false;
    button.disabled = true;
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      var value = Math.round((100 * e.loaded) / e.total);
      bar.value = value;
      pct.textContent = value + " %";
    });
    xhr.addEventListener("load", function () {
      if (xhr.status < 400 && xhr.responseURL) {
        window.location.assign(xhr.responseURL);  // the statement page the import led to
        return;
      }
      document.open();
      document.write(xhr.responseText);  // the console's own error page
      document.close();
    });
    xhr.addEventListener("error", function () {
      button.disabled = false;
      pct.textContent = "✗";
    });
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.send(new FormData(form));
  });
})();
