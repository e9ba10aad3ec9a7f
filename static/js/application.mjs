// mhtr-pathway front-end entry point, loaded with
//   <script type="module" src="/assets/application.mjs?v=..."></script>
// No inline script anywhere: the Content-Security-Policy forbids them.

import { initAll as initGovukFrontend } from './govuk/govuk-frontend.min.js'
import { initAll as initMojFrontend } from './moj/moj-frontend.min.js'

// GOV.UK Frontend's page template does this in an inline script at the top of
// <body>. Only browsers that support ES modules run this file at all, so both
// classes always apply here. `govuk-frontend-supported` must be set before
// initAll(), which refuses to initialise components without it.
document.body.classList.add('js-enabled', 'govuk-frontend-supported')

initGovukFrontend()
initMojFrontend()

// ---------------------------------------------------------------------------
// Session timeout warning (WCAG 2.2.1 Timing Adjustable)
//
// Needs, in <head>:
//   <meta name="app-session-timeout" content="SECONDS">  idle time remaining
//   <meta name="app-csrf-token" content="TOKEN">
// ---------------------------------------------------------------------------

const WARNING_SECONDS = 120
const ANNOUNCE_EVERY_SECONDS = 20

function metaContent (name) {
  const meta = document.querySelector(`meta[name="${name}"]`)
  return meta ? meta.getAttribute('content') : null
}

/** "2 minutes", "1 minute 40 seconds", "45 seconds" */
function describeTime (totalSeconds) {
  const minutes = Math.floor(totalSeconds / 60)
  const seconds = totalSeconds % 60
  const parts = []
  if (minutes > 0) parts.push(`${minutes} minute${minutes === 1 ? '' : 's'}`)
  if (seconds > 0 || minutes === 0) parts.push(`${seconds} second${seconds === 1 ? '' : 's'}`)
  return parts.join(' ')
}

/** Small helper: create an element with attributes and children. */
function h (tag, attributes = {}, ...children) {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value)
  element.append(...children)
  return element
}

function startSessionTimeoutWarning (timeoutSeconds, csrfToken) {
  const countdown = h('span', { class: 'app-timeout-dialog__countdown' })
  const liveRegion = h('p', { class: 'govuk-visually-hidden', 'aria-live': 'polite', 'aria-atomic': 'true' })
  const stayButton = h('button', { type: 'button', class: 'govuk-button' }, 'Stay signed in')
  const signOutLink = h('a', { href: '/sign-out', class: 'govuk-link govuk-link--no-visited-state' }, 'Sign out')
  const signOutForm = h('form', { method: 'post', action: '/sign-out', class: 'govuk-button-group' },
    h('input', { type: 'hidden', name: 'csrf_token', value: csrfToken }),
    stayButton,
    signOutLink
  )
  const dialog = h('dialog', {
    class: 'app-timeout-dialog',
    role: 'alertdialog',
    'aria-modal': 'true',
    'aria-labelledby': 'app-timeout-dialog-heading',
    'aria-describedby': 'app-timeout-dialog-message'
  },
  h('h2', { id: 'app-timeout-dialog-heading', class: 'govuk-heading-m' }, 'You\u2019re about to be signed out'),
  h('p', { id: 'app-timeout-dialog-message', class: 'govuk-body' },
    'For your security, we will sign you out in ', countdown, '.'),
  liveRegion,
  signOutForm
  )
  document.body.append(dialog)

  let deadline = 0 // ms since epoch when the server-side session expires
  let timer = null
  let lastAnnounced = null
  let returnFocusTo = null

  function secondsLeft () {
    return Math.max(0, Math.ceil((deadline - Date.now()) / 1000))
  }

  function restart () {
    deadline = Date.now() + timeoutSeconds * 1000
    schedule()
  }

  // One timer at a time: a single wait until the warning is due, then a tick
  // every second while the dialog is open. Times are always recomputed from
  // the deadline, since browsers delay timers in background tabs.
  function schedule () {
    clearTimeout(timer)
    const left = secondsLeft()
    if (left <= 0) {
      window.location.assign('/signed-out?reason=timeout')
    } else if (left <= WARNING_SECONDS) {
      if (!dialog.open) open()
      update(left)
      timer = setTimeout(schedule, (deadline - Date.now()) % 1000 || 1000) // next whole second
    } else {
      timer = setTimeout(schedule, (left - WARNING_SECONDS) * 1000)
    }
  }

  function update (left) {
    countdown.textContent = describeTime(left)
    // Announce politely every ANNOUNCE_EVERY_SECONDS, not every second.
    const step = Math.ceil(left / ANNOUNCE_EVERY_SECONDS)
    if (lastAnnounced !== null && step !== lastAnnounced) {
      liveRegion.textContent = `We will sign you out in ${describeTime(left)}.`
    }
    lastAnnounced = step
  }

  function open () {
    returnFocusTo = document.activeElement
    lastAnnounced = null
    liveRegion.textContent = ''
    dialog.showModal()
    stayButton.focus()
  }

  function close () {
    if (dialog.open) dialog.close()
    if (returnFocusTo && document.contains(returnFocusTo)) returnFocusTo.focus()
  }

  async function staySignedIn () {
    if (stayButton.disabled) return // a request is already on its way
    stayButton.disabled = true
    try {
      const response = await fetch('/session/keep-alive', {
        method: 'POST',
        headers: { 'X-CSRF-Token': csrfToken },
        credentials: 'same-origin'
      })
      if (response.status === 204) {
        close()
        restart()
      } else if (response.status === 401 || response.status === 403) {
        window.location.assign('/signed-out?reason=timeout')
      }
    } catch {
      // Network error: keep the dialog open so the user can try again.
    } finally {
      stayButton.disabled = false
    }
  }

  stayButton.addEventListener('click', staySignedIn)
  signOutLink.addEventListener('click', (event) => {
    event.preventDefault()
    signOutForm.submit()
  })
  // Escape fires "cancel" on a modal <dialog>: treat it as "Stay signed in".
  dialog.addEventListener('cancel', (event) => {
    event.preventDefault()
    staySignedIn()
  })
  // Catch up at once when a throttled background tab becomes visible again.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') schedule()
  })

  restart()
}

const timeoutSeconds = Number.parseInt(metaContent('app-session-timeout') ?? '', 10)
const csrfToken = metaContent('app-csrf-token')
if (Number.isFinite(timeoutSeconds) && timeoutSeconds > 0 && csrfToken) {
  startSessionTimeoutWarning(timeoutSeconds, csrfToken)
}

// Wide tables (WCAG 1.4.10 Reflow, 2.1.1 Keyboard): a table wider than the screen scrolls
// inside its .app-table-wrap. While it does, the wrapper is a named region in the tab order
// so that keyboard users can scroll it with the arrow keys; when it fits, it is neither.
function labelFor (wrap) {
  const caption = wrap.querySelector('caption')?.textContent.trim()
  if (caption) return caption
  let el = wrap.previousElementSibling
  while (el && !/^H[1-6]$/.test(el.tagName)) el = el.previousElementSibling
  return el?.textContent.trim() || 'Table'
}

function markScrollableTables () {
  for (const wrap of document.querySelectorAll('.app-table-wrap, .app-chart-wrap')) {
    if (wrap.scrollWidth > wrap.clientWidth + 1) {
      wrap.setAttribute('tabindex', '0')
      wrap.setAttribute('role', 'region')
      wrap.setAttribute('aria-label', `${labelFor(wrap)} (scrolls sideways)`)
    } else {
      wrap.removeAttribute('tabindex')
      wrap.removeAttribute('role')
      wrap.removeAttribute('aria-label')
    }
  }
}

markScrollableTables()
window.addEventListener('resize', markScrollableTables)
