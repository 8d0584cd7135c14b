// The console: sign-in with the admin token (kept in sessionStorage only), hash navigation between the pages, and
// sign-out. Each page is a module with mount(container) -> stop().

import {ApiError, UNAUTHORIZED_EVENT, call, session} from './api.js';
import {showError} from './dom.js';
import * as keys from './keys.js';
import * as models from './models.js';
import * as overview from './overview.js';
import * as replicas from './replicas.js';

const PAGES = {overview, models, keys, replicas};
const DEFAULT_PAGE = 'overview';
/** An admin call that only reads: checks a token at sign-in. */
const CHECK_PATH = '/v1/status/policy';

const $ = (id) => document.getElementById(id);
let stopPage = null;

function pageFromHash() {
  const match = /^#\/([a-z]+)$/.exec(location.hash);
  return match && PAGES[match[1]] ? match[1] : null;
}

function show(name) {
  if (stopPage) {
    stopPage();
    stopPage = null;
  }
  const container = $('page');
  container.replaceChildren();
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.dataset.page === name) {
      link.setAttribute('aria-current', 'page');
    } else {
      link.removeAttribute('aria-current');
    }
  }
  stopPage = PAGES[name].mount(container);
  document.title = `${container.querySelector('h1').textContent} · api-router console`;
}

function signedIn() {
  $('login').hidden = true;
  $('page').hidden = false;
  $('nav').hidden = false;
  $('logout').hidden = false;
  overview.startSampling();
  const page = pageFromHash();
  if (page) {
    show(page);
  } else {
    location.hash = `#/${DEFAULT_PAGE}`; // hashchange shows it
  }
}

function signedOut(message) {
  session.clear();
  overview.stopSampling();
  if (stopPage) {
    stopPage();
    stopPage = null;
  }
  $('page').replaceChildren();
  $('page').hidden = true;
  $('nav').hidden = true;
  $('logout').hidden = true;
  $('login').hidden = false;
  showError($('login-error'), message);
  $('token').focus();
}

async function signIn(event) {
  event.preventDefault();
  const input = $('token');
  const token = input.value.trim();
  if (!token) {
    showError($('login-error'), 'Enter the admin token.');
    return;
  }
  const button = $('login-submit');
  button.disabled = true;
  try {
    await call('GET', CHECK_PATH, undefined, token);
    input.value = '';
    showError($('login-error'), '');
    session.save(token);
    signedIn();
  } catch (e) {
    showError($('login-error'), e instanceof ApiError ? e.describe() : String(e));
    input.select();
  } finally {
    button.disabled = false;
  }
}

function start() {
  $('login-form').addEventListener('submit', signIn);
  $('logout').addEventListener('click', () => signedOut('Signed out.'));
  document.querySelector('.skip').addEventListener('click', (event) => {
    event.preventDefault(); // not a page: keep the hash for the pages
    $('main').focus();
  });
  window.addEventListener('hashchange', () => {
    const page = pageFromHash();
    if (page && session.token()) {
      show(page);
      $('page').querySelector('h1').focus();
    }
  });
  window.addEventListener(UNAUTHORIZED_EVENT, (event) => {
    signedOut(`The admin token was refused: ${event.detail.describe()} Sign in again.`);
  });
  if (session.token()) {
    signedIn();
  } else {
    signedOut('');
  }
}

start();
