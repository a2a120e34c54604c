// qsign pages: the WebAuthn steps need script (passkey login, enrolment, step-up and
// approval, and the passkey on the identity provider's login page); everything else is plain
// forms. The script also moves the focus to a form's error summary, warns before the session
// ends (with a button that keeps it), shows times in the reader's time zone and lets the
// download "button" work with Space. Every call on qsign's own pages sends the anti-forgery
// token.
"use strict";

const fromB64u = (s) => {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
};
const toB64u = (buffer) =>
  btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

const post = (path, csrf, body) =>
  fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json", accept: "application/json", "x-csrf-token": csrf },
    body: JSON.stringify(body || {}),
  });

// The page's message area: the texts come from the page (in its language); after a failure
// the focus moves to the message, so a keyboard or screen-reader user lands on it.
const noticeArea = () => document.getElementById("notice") || document.getElementById("passkey-notice");

const notice = (text) => {
  const el = noticeArea();
  if (el) {
    el.textContent = text;
    el.classList.remove("error-summary");
  }
};

// The short support reference (8 characters of Crockford's base 32 for the first 40 bits of
// the request id), as the pages show it and the support lookup takes it.
const shortReference = (reference) => {
  const hex = String(reference || "").replace(/-/g, "").slice(0, 10);
  if (!/^[0-9a-fA-F]{10}$/.test(hex)) {
    return "";
  }
  const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  let bits = parseInt(hex, 16);
  let out = "";
  for (let i = 0; i < 8; i += 1) {
    out = alphabet[bits % 32] + out;
    bits = Math.floor(bits / 32);
  }
  return out;
};

// A failed step: what happened in the page's language, the service's own words (English,
// marked as such) with the code and the support reference, and what to do next.
const failed = async (response, cancelled) => {
  const el = noticeArea();
  if (!el) {
    return;
  }
  const body = response ? await response.json().catch(() => ({})) : {};
  const line = (text, lang) => {
    const span = document.createElement("span");
    span.textContent = text;
    if (lang && lang !== el.dataset.lang) {
      span.lang = lang;
    }
    el.append(span, document.createElement("br"));
  };
  el.textContent = "";
  // The same look as a form's error summary.
  el.classList.add("error-summary");
  line(cancelled ? el.dataset.cancelled || "The passkey step was cancelled." : el.dataset.failed || "The passkey step did not succeed.");
  if (body.error_description) {
    line(`${body.error_description} (${body.error})`, "en");
  }
  if (body.support_ref) {
    const short = shortReference(body.support_ref);
    line(`${el.dataset.reference || "Support reference"}: ${body.support_ref}${short ? ` (${short})` : ""}`);
  }
  line(el.dataset.next || "Try again.");
  el.focus();
};

// Time limits (WCAG 2.2.1): a signed-in page knows when its session ends
// (data-session-expires, counted from the service's time in data-session-now, so the reader's
// clock does not matter). Before it (data-session-warn-before seconds, 120 by default) a
// dialog says how long is left and offers to stay logged in (a POST that renews the session
// within the login's longest duration) or to log in again and come back to this page.
const sessionWarning = () => {
  const body = document.body;
  const warning = document.getElementById("session-warning");
  const expires = Number(body.dataset.sessionExpires);
  const serverNow = Number(body.dataset.sessionNow);
  if (!warning || !expires || !serverNow) {
    return;
  }
  const before = Number(body.dataset.sessionWarnBefore) || 120;
  let deadline = Date.now() + (expires - serverNow) * 1000;
  const left = document.getElementById("session-time-left");
  const ended = document.getElementById("session-ended");
  const button = document.getElementById("session-continue");
  const status = document.getElementById("session-status");
  const login = document.getElementById("session-login");
  // The login comes back to this very page (with the file name of a review).
  const here = window.location.pathname + window.location.search;
  if (login && !/[?&]csrf=/.test(window.location.search)) {
    login.href = `/?next=${encodeURIComponent(here)}`;
  }
  let returnTo = null;
  // The dialog takes the focus when it appears, except from a field being typed in (its role
  // has it announced all the same).
  const typing = () => {
    const active = document.activeElement;
    return active && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName);
  };
  const show = () => {
    if (warning.hidden) {
      returnTo = document.activeElement;
      warning.hidden = false;
      if (!typing()) {
        (button.hidden ? login : button).focus();
      }
    }
  };
  const words = (secs) => {
    const m = Math.floor(secs / 60);
    const s = secs % 60;
    return m > 0 ? `${m} ${warning.dataset.minutes} ${s} ${warning.dataset.seconds}` : `${s} ${warning.dataset.seconds}`;
  };
  let timer = null;
  const tick = () => {
    const secs = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    if (secs > before) {
      return;
    }
    show();
    left.textContent = words(secs);
    if (secs === 0) {
      ended.hidden = false;
      button.hidden = true;
      if (document.activeElement === button || document.activeElement === document.body) {
        login.focus();
      }
      clearInterval(timer);
    }
  };
  timer = setInterval(tick, 1000);
  tick();
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const response = await post("/session/extend", body.dataset.csrf, {});
      if (!response.ok) {
        throw new Error(String(response.status));
      }
      const renewed = await response.json();
      deadline = Date.now() + (renewed.expires - renewed.now) * 1000;
      warning.hidden = true;
      status.textContent = warning.dataset.extended || "";
      if (returnTo && document.contains(returnTo)) {
        returnTo.focus();
      }
    } catch (e) {
      // The login is too old to renew (or the session already ended): log in again.
      ended.hidden = false;
      button.hidden = true;
      login.focus();
    } finally {
      button.disabled = false;
    }
  });
};

const requestOptions = (options) => {
  const publicKey = options.publicKey;
  publicKey.challenge = fromB64u(publicKey.challenge);
  for (const allowed of publicKey.allowCredentials || []) {
    allowed.id = fromB64u(allowed.id);
  }
  return publicKey;
};

const assertion = (credential) => ({
  id: credential.id,
  rawId: toB64u(credential.rawId),
  type: credential.type,
  response: {
    authenticatorData: toB64u(credential.response.authenticatorData),
    clientDataJSON: toB64u(credential.response.clientDataJSON),
    signature: toB64u(credential.response.signature),
    userHandle: credential.response.userHandle ? toB64u(credential.response.userHandle) : null,
  },
  extensions: {},
});

// A ceremony: start, ask the authenticator, finish, then go where the server says.
const ceremony = (button, run) => {
  if (!button || !window.PublicKeyCredential) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", async () => {
    button.disabled = true;
    notice("");
    try {
      const response = await run(button.dataset.csrf);
      if (!response.ok) {
        await failed(response);
      } else {
        window.location.assign((await response.json()).location);
      }
    } catch (e) {
      // The browser's own message is technical and English: say it in the page's words.
      await failed(null, e && e.name === "NotAllowedError");
    } finally {
      button.disabled = false;
    }
  });
};

// Runs a get-assertion ceremony between `start` and `finish`.
const getCeremony = async (csrf, start, startBody, finish, finishBody) => {
  const started = await post(start, csrf, startBody);
  if (!started.ok) {
    return started;
  }
  const { state, options } = await started.json();
  const credential = await navigator.credentials.get({ publicKey: requestOptions(options) });
  return post(finish, csrf, finishBody(state, assertion(credential)));
};

document.addEventListener("DOMContentLoaded", () => {
  // A refused form: the focus goes to the error summary, whose links lead to the fields.
  const summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }

  sessionWarning();

  // The download is a link that looks like a button: like a button, Space activates it.
  for (const link of document.querySelectorAll("a[role=button]")) {
    link.addEventListener("keydown", (event) => {
      if (event.key === " " || event.key === "Spacebar") {
        event.preventDefault();
        link.click();
      }
    });
  }

  // Times in tables are written in UTC; shown in the reader's own time zone and language.
  for (const time of document.querySelectorAll("time[datetime]")) {
    const at = new Date(time.dateTime);
    if (!Number.isNaN(at.getTime())) {
      time.textContent = at.toLocaleString(document.documentElement.lang || undefined, { dateStyle: "medium", timeStyle: "short" });
      time.title = time.dateTime;
    }
  }

  const login = document.getElementById("passkey-login");
  ceremony(login, (csrf) => {
    const form = new FormData(login.form);
    const username = form.get("username");
    // Back to the page whose session ended, as the password login does.
    const next = form.get("next");
    const finish = next ? `/web/passkey/login/finish?next=${encodeURIComponent(next)}` : "/web/passkey/login/finish";
    return getCeremony(csrf, "/web/passkey/login/start", { username }, finish, (state, credential) => ({
      username,
      password: form.get("password") || null,
      otp: form.get("otp") || null,
      state,
      credential,
    }));
  });

  // The identity provider's login page (an application's OAuth login): the pending request's
  // id is the form's anti-forgery value.
  const authorize = document.getElementById("passkey");
  ceremony(authorize, () => {
    const form = new FormData(authorize.form);
    const request = form.get("request");
    const username = form.get("username");
    return getCeremony("", "/idp/authorize/passkey/start", { request, username }, "/idp/authorize/passkey/finish", (state, credential) => ({
      request,
      username,
      password: form.get("password") || null,
      otp: form.get("otp") || null,
      state,
      credential,
    }));
  });

  ceremony(document.getElementById("stepup"), (csrf) =>
    getCeremony(csrf, "/account/stepup/start", {}, "/account/stepup/finish", (state, credential) => ({ state, credential })),
  );

  // Only the factors the chosen credential accepts: a one-time code approves SCAL1 policies
  // only, so its field is hidden (and not required) for a SCAL2 credential.
  const chosen = document.getElementById("credential");
  const otpGroup = document.getElementById("otp-group");
  const passkeyOnly = document.getElementById("passkey-only");
  if (chosen && otpGroup && passkeyOnly) {
    const fit = () => {
      const scal2 = chosen.selectedOptions[0]?.dataset.scal === "2";
      otpGroup.hidden = scal2;
      passkeyOnly.hidden = !scal2;
      document.getElementById("otp").required = !scal2;
    };
    chosen.addEventListener("change", fit);
    fit();
  }

  const approve = document.getElementById("approve-passkey");
  ceremony(approve, (csrf) => {
    const id = approve.dataset.document;
    const credentialId = document.getElementById("credential").value;
    const name = new URLSearchParams(window.location.search).get("name") || "";
    return getCeremony(csrf, `/sign/${id}/passkey/start`, { credential: credentialId }, `/sign/${id}/passkey/finish`, (state, credential) => ({
      credential: credentialId,
      state,
      assertion: credential,
      name,
    }));
  });

  // An approval on the person's phone: a passkey assertion over the request's hashes.
  const approveRequest = document.getElementById("approve-request");
  ceremony(approveRequest, (csrf) => {
    const id = approveRequest.dataset.request;
    return getCeremony(csrf, `/approvals/${id}/passkey/start`, {}, `/approvals/${id}/passkey/finish`, (state, credential) => ({
      state,
      assertion: credential,
    }));
  });

  ceremony(document.getElementById("enrol-passkey"), async (csrf) => {
    // Below High, a passkey is bound with the enrolment code the operator handed over.
    const code = document.getElementById("enrolment-code");
    const started = await post("/account/passkeys/start", csrf, code ? { enrolment_code: code.value } : {});
    if (!started.ok) {
      return started;
    }
    const { state, options } = await started.json();
    const publicKey = options.publicKey;
    publicKey.challenge = fromB64u(publicKey.challenge);
    publicKey.user.id = fromB64u(publicKey.user.id);
    for (const excluded of publicKey.excludeCredentials || []) {
      excluded.id = fromB64u(excluded.id);
    }
    const credential = await navigator.credentials.create({ publicKey });
    return post("/account/passkeys/finish", csrf, {
      state,
      credential: {
        id: credential.id,
        rawId: toB64u(credential.rawId),
        type: credential.type,
        response: {
          attestationObject: toB64u(credential.response.attestationObject),
          clientDataJSON: toB64u(credential.response.clientDataJSON),
          transports: credential.response.getTransports ? credential.response.getTransports() : [],
        },
        extensions: {},
      },
    });
  });
});
