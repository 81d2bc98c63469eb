// The notification email: subject, plain text and HTML rendered from one model, so the two bodies
// always say the same thing. Everything that comes from a user (the watchpoint's name) is escaped in
// the HTML and stripped of line breaks in the subject.
import type { NotificationFor } from '../shared/delivery-handler.ts';

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

const CONDITION_TEXT = { gt: 'above', gte: 'at or above', lt: 'below', lte: 'at or below' } as const;
const FORECAST_TEXT = { nowcast: 'nowcast', medium_range: 'medium-range forecast' } as const;

const escapeHtml = (value: string): string =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** One line, no control characters, bounded: a name must not inject headers or flood the subject. */
const oneLine = (value: string, max: number): string => {
  const flat = value.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

const number = (value: number): string => (Number.isInteger(value) ? String(value) : value.toFixed(2).replace(/0+$/, '').replace(/\.$/, ''));
const coordinate = (value: number, positive: string, negative: string): string => `${Math.abs(value).toFixed(3)}°${value >= 0 ? positive : negative}`;
const utc = (iso: string): string => `${new Date(iso).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

interface Model {
  name: string;
  variable: string;
  condition: string;
  threshold: string;
  value: string;
  extreme: string;
  validTime: string;
  leadHours: string;
  place: string;
  gridPoint: string;
  forecast: string;
  runId: string;
  issuedAt: string;
  notificationId: string;
}

function model(n: NotificationFor<'email'>): Model {
  return {
    name: oneLine(n.watchpoint.name, 120) || 'Unnamed watchpoint',
    variable: n.watchpoint.variable,
    condition: CONDITION_TEXT[n.watchpoint.condition],
    threshold: number(n.watchpoint.threshold),
    value: number(n.trigger.value),
    extreme: number(n.trigger.extreme_value),
    validTime: utc(n.trigger.valid_time),
    leadHours: number(n.trigger.lead_hours),
    place: `${coordinate(n.watchpoint.latitude, 'N', 'S')}, ${coordinate(n.watchpoint.longitude, 'E', 'W')}`,
    gridPoint: `${coordinate(n.trigger.grid_latitude, 'N', 'S')}, ${coordinate(n.trigger.grid_longitude, 'E', 'W')}`,
    forecast: FORECAST_TEXT[n.forecast.forecast_type],
    runId: n.forecast.run_id,
    issuedAt: utc(n.forecast.issued_at),
    notificationId: n.notification_id,
  };
}

const subjectTemplate = (m: Model): string => `WatchPoint: ${m.name} — ${m.variable} ${m.condition} ${m.threshold} at ${m.validTime}`;

const textTemplate = (m: Model): string => `Your watchpoint "${m.name}" has been triggered.

${m.variable} is forecast to be ${m.value}, ${m.condition} your threshold of ${m.threshold},
at ${m.validTime} (${m.leadHours} h after the forecast was issued).
The most extreme value in your window is ${m.extreme}.

Location:     ${m.place} (nearest grid point ${m.gridPoint})
Forecast:     ${m.forecast} ${m.runId}, issued ${m.issuedAt}
Notification: ${m.notificationId}

You receive this email because this address is a channel of the watchpoint.
`;

const htmlTemplate = (m: Model): string => {
  const e = Object.fromEntries(Object.entries(m).map(([k, v]) => [k, escapeHtml(v)])) as unknown as Model;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${e.name}</title></head>
<body style="font-family: sans-serif; line-height: 1.4">
<p>Your watchpoint <strong>${e.name}</strong> has been triggered.</p>
<p><strong>${e.variable}</strong> is forecast to be <strong>${e.value}</strong>, ${e.condition} your threshold of ${e.threshold},
at <strong>${e.validTime}</strong> (${e.leadHours} h after the forecast was issued).
The most extreme value in your window is ${e.extreme}.</p>
<table cellpadding="4">
<tr><th align="left">Location</th><td>${e.place} (nearest grid point ${e.gridPoint})</td></tr>
<tr><th align="left">Forecast</th><td>${e.forecast} ${e.runId}, issued ${e.issuedAt}</td></tr>
<tr><th align="left">Notification</th><td>${e.notificationId}</td></tr>
</table>
<p style="color: #666">You receive this email because this address is a channel of the watchpoint.</p>
</body></html>
`;
};

export function renderEmail(notification: NotificationFor<'email'>): RenderedEmail {
  const m = model(notification);
  return { subject: subjectTemplate(m), text: textTemplate(m), html: htmlTemplate(m) };
}
