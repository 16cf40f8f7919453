// The standalone report's page script: the static host first, then the panel's own entry (modules run in import order).
import './installHost';
import '../main';
