// A Chart.js date adapter built on the browser's own Date and Intl: time axes are laid out in the viewer's
// time zone (calendar days and months follow its daylight-saving changes) and their ticks are written in
// the viewer's locale, with no date library to vendor. Chart.js asks an adapter for these seven functions.
"use strict";

(() => {
  const MS = { millisecond: 1, second: 1e3, minute: 6e4, hour: 36e5, day: 864e5, week: 6048e5 };
  // Intl options per display format; Chart.js picks a format by the unit of its ticks.
  const FORMATS = {
    datetime: { dateStyle: "medium", timeStyle: "short" },
    millisecond: { hour: "numeric", minute: "2-digit", second: "2-digit", fractionalSecondDigits: 3 },
    second: { hour: "numeric", minute: "2-digit", second: "2-digit" },
    minute: { hour: "numeric", minute: "2-digit" },
    hour: { weekday: "short", hour: "numeric" },
    day: { month: "short", day: "numeric" },
    week: { month: "short", day: "numeric" },
    month: { month: "short", year: "numeric" },
    quarter: { month: "short", year: "numeric" },
    year: { year: "numeric" },
  };
  const formatters = new Map();

  function formatter(name) {
    if (!formatters.has(name)) formatters.set(name, new Intl.DateTimeFormat(undefined, FORMATS[name] || FORMATS.datetime));
    return formatters.get(name);
  }

  // Calendar units move by local calendar fields (a day is 23 or 25 hours when the clocks change).
  function add(time, amount, unit) {
    const date = new Date(time);
    switch (unit) {
      case "day": date.setDate(date.getDate() + amount); break;
      case "week": case "isoWeek": date.setDate(date.getDate() + 7 * amount); break;
      case "month": date.setMonth(date.getMonth() + amount); break;
      case "quarter": date.setMonth(date.getMonth() + 3 * amount); break;
      case "year": date.setFullYear(date.getFullYear() + amount); break;
      default: return time + amount * MS[unit];
    }
    return date.getTime();
  }

  function months(max, min) {
    const [a, b] = [new Date(max), new Date(min)];
    return (a.getFullYear() - b.getFullYear()) * 12 + a.getMonth() - b.getMonth();
  }

  function diff(max, min, unit) {
    switch (unit) {
      case "month": return months(max, min);
      case "quarter": return months(max, min) / 3;
      case "year": return months(max, min) / 12;
      case "isoWeek": return (max - min) / MS.week;
      default: return (max - min) / MS[unit];
    }
  }

  function startOf(time, unit, weekday) {
    const date = new Date(time);
    switch (unit) {
      case "second": date.setMilliseconds(0); break;
      case "minute": date.setSeconds(0, 0); break;
      case "hour": date.setMinutes(0, 0, 0); break;
      case "day": date.setHours(0, 0, 0, 0); break;
      case "week": case "isoWeek": {
        const first = unit === "week" ? 0 : weekday === true || weekday === undefined ? 1 : Number(weekday);
        date.setHours(0, 0, 0, 0);
        date.setDate(date.getDate() - ((date.getDay() - first + 7) % 7));
        break;
      }
      case "month": date.setHours(0, 0, 0, 0); date.setDate(1); break;
      case "quarter": date.setHours(0, 0, 0, 0); date.setMonth(date.getMonth() - (date.getMonth() % 3), 1); break;
      case "year": date.setHours(0, 0, 0, 0); date.setMonth(0, 1); break;
      default: break;
    }
    return date.getTime();
  }

  Chart._adapters._date.override({
    formats: () => Object.fromEntries(Object.keys(FORMATS).map((name) => [name, name])),
    parse(value) {
      if (value === null || value === undefined) return null;
      if (typeof value === "number") return value;
      const time = value instanceof Date ? value.getTime() : Date.parse(value);
      return Number.isNaN(time) ? null : time;
    },
    format: (time, name) => formatter(name).format(time),
    add,
    diff,
    startOf,
    endOf: (time, unit) => add(startOf(time, unit), 1, unit) - 1,
  });
})();
