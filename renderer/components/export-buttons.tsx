/** The "Export JSON" and "Export Markdown" buttons of a job (history detail, report). */
import { useActions } from '../hooks';

export function ExportButtons({ id }: { id: string }) {
  const actions = useActions();
  return (
    <>
      <button type="button" onClick={() => void actions.exportReport(id, 'json')}>
        Export JSON
      </button>
      <button type="button" onClick={() => void actions.exportReport(id, 'markdown')}>
        Export Markdown
      </button>
    </>
  );
}
