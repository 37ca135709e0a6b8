/** Short notices (saved, submitted, could not…) in a polite live region; errors stay until dismissed. */
import { useEffect } from 'react';
import { useApp } from '../hooks';
import type { Notice } from '../store/types';
import { ErrorBox } from './error-box';

function NoticeItem({ n }: { n: Notice }) {
  const dismiss = useApp((s) => s.dismiss);
  useEffect(() => {
    if (n.kind !== 'info') return;
    const t = setTimeout(() => dismiss(n.id), 6000);
    return () => clearTimeout(t);
  }, [n, dismiss]);
  return (
    <li className={`notice notice-${n.kind}`}>
      {n.error ? <ErrorBox error={n.error} title={n.text} alert={false} /> : <span>{n.text}</span>}
      <button type="button" className="link-button" onClick={() => dismiss(n.id)}>
        Dismiss
      </button>
    </li>
  );
}

export function Notices() {
  const notices = useApp((s) => s.notices);
  return (
    <div className="notices" role="status" aria-live="polite">
      <ul>
        {notices.map((n) => (
          <NoticeItem key={n.id} n={n} />
        ))}
      </ul>
    </div>
  );
}
