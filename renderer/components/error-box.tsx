/** An ErrorInfo as the technician reads it: message, what to do, the fields, the detail. */
import type { ErrorInfo } from '../../shared/protocol';

export function ErrorBox({ error, title, alert = true }: { error: ErrorInfo; title?: string; alert?: boolean }) {
  return (
    <div className="error-box" {...(alert ? { role: 'alert' } : {})}>
      <p className="error-message">
        {title ? <strong>{title} </strong> : null}
        {error.message} <code className="error-code">{error.code}</code>
      </p>
      {error.fields?.length ? (
        <ul className="error-fields">
          {error.fields.map((f, i) => (
            <li key={i}>
              <code>{f.path || '(spec)'}</code>: {f.message}
            </li>
          ))}
        </ul>
      ) : null}
      <p className="error-hint">{error.hint}</p>
      {error.detail && !error.fields?.length ? (
        <details>
          <summary>Detail</summary>
          <pre className="error-detail">{error.detail}</pre>
        </details>
      ) : null}
    </div>
  );
}
