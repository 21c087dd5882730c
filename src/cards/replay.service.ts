import { Injectable } from '@nestjs/common';
import type { temporal } from '@temporalio/proto';
import { replayHistory } from '../worker/replay.js';

@Injectable()
export class ReplayService {
  replay(workflowId: string, history: temporal.api.history.v1.IHistory) {
    return replayHistory(workflowId, history);
  }
}
