/**
 * The renderer's entry, kept small: the styles, then the app loaded as a separate chunk, so the
 * shell in index.html is painted while the app's code is fetched and compiled.
 */
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('#root missing from index.html');
void import('./boot').then((m) => m.start(root));
