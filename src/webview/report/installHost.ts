// Evaluated before the panel's entry (see main.ts): acquireVsCodeApi must exist when the panel boots.
import { installStaticHost } from './staticHost';

installStaticHost();
